"""Issuing alerts from incidents: drafting, approving, updating, cancelling.

A commander of the incident's reporting jurisdiction (or an API client of it with
alerts:write) drafts an alert from the incident: a CAP message in zh-CN and en-US, its terms
from the one table (incidents.alerts.mapping), its area the incident's (compose.py). The
draft is seen by its owner alone. Approving it issues it (`alert.issued`: on the stream, the
webhooks and, when it is Public and real, the public feed). An issued alert is updated by a
new message (msgType Update, naming it in <references>; `alert.updated`) or cancelled by one
(msgType Cancel; `alert.cancelled`). Each is an audit entry, one event and an entry on the
incident's timeline. Alerts of an exercise (演练) incident have CAP status Exercise: never
public, never on the feed.

Lock order: the incident, then the alerts (the drafts count messages under the incident's
lock, so two drafts never take the same identifier).
"""

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal, require
from coordination.roles import Action
from incidents import lifecycle as incident_lifecycle
from incidents.alerts import cap
from incidents.alerts.areas import affected_jurisdictions
from incidents.alerts.compose import (
    DEFAULT_INSTRUCTION,
    EXERCISE_MARK,
    LANGUAGES,
    AffectedNames,
    Terms,
    Wording,
    cancel_message,
    cap_moment,
    chain,
    identifier_for,
    incident_message,
    sender_for,
)
from incidents.alerts.convert import alert_values, cap_alert, child_rows, info_children, offset_minutes
from incidents.alerts.languages import agreement_after_edit, fingerprints, language_state
from incidents.alerts.links import is_web_page
from incidents.alerts.mapping import most_severe
from incidents.alerts.models import (
    Alert,
    AlertArea,
    AlertInfo,
    AlertJurisdiction,
    AlertOrigin,
    AlertResource,
    AlertState,
    SignatureStatus,
)
from incidents.alerts.selectors import alert_decision
from incidents.alerts.store import EVENT_FOR_MSG_TYPE, apply_to_referenced, emit_alert_event, referenced, store_children
from incidents.models import Incident, TimelineKind
from incidents.payloads import cluster_zone
from incidents.selectors import incident_facts
from incidents.services import incident_timeline_record
from sharing.visibility import Viewer, decide


@dataclass(frozen=True)
class AlertTerms:
    """What the caller sent (already shaped by the input serializer); None: not given."""

    scope: str | None = None
    restriction: str | None = None
    addresses: list[str] | None = None
    response_types: list[str] | None = None
    expires: datetime | None = None
    contact: str | None = None
    web: str | None = None
    note: str | None = None
    wording: dict[str, Wording] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "AlertTerms":
        wording = {}
        for block in data.get("info") or []:
            language = block["language"]
            if language in wording:
                raise ValidationFailed.on("info", f"{language} is given twice.")
            wording[language] = Wording(block.get("headline") or None, block.get("description") or None,
                                        block.get("instruction") or None)
        return cls(
            scope=data.get("scope"), restriction=data.get("restriction"), addresses=data.get("addresses"),
            response_types=data.get("response_type"), expires=data.get("expires"), contact=data.get("contact"),
            web=data.get("web"), note=data.get("note"), wording=wording,
        )


def alert_draft(*, actor: Principal, incident: str, data: Mapping[str, Any]) -> Alert:
    """Draft an alert about an incident of the actor's jurisdiction (POST /api/v1/alerts/)."""
    require(actor, Action.DRAFT_ALERT, "Drafting alerts needs a commander or an API client with alerts:write.")
    given = AlertTerms.of(data)
    now = timezone.now()
    with transaction.atomic():
        found, affected = _incident_for_alerts(actor, incident)
        _require_open(found)
        terms = _terms(given, previous=None, now=now)
        message = _incident_message(incident=found, affected=affected, terms=terms, msg_type="Alert",
                                    references=[], now=now)
        alert, affected = _store_issued(actor=actor, incident=found, message=message, affected=affected,
                                        state=AlertState.DRAFT, targets=[], now=now)
        # Written together, the blocks agree: the fingerprints the later edits are judged by.
        alert.language_fingerprints = fingerprints(message.infos)
        alert.save(update_fields=["language_fingerprints"])
        audit_record(
            actor=actor, action="alert.drafted", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=alert.owner_id,
            detail={"incident": found.public_id, "identifier": alert.identifier, "scope": alert.scope,
                    "status": alert.status},
        )
        emit_alert_event("alert.drafted", alert=alert, message=message, affected=affected, replaced=[],
                         incident=found.public_id, now=now)
        incident_timeline_record(
            incident=found, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
            text=f"Alert {alert.identifier} drafted ({alert.scope}); awaiting approval.",
        )
    return alert


def alert_approve(*, actor: Principal, alert_id, confirm_languages: bool = False) -> Alert:
    """Approve a draft: it is issued now (`alert.issued`), its <sent> the moment of approval.

    A draft whose language blocks drifted apart (one changed since they last agreed, another
    not: incidents.alerts.languages) is issued only with `confirm_languages`: else 409, saying
    which language was changed and which not, so nobody issues two different warnings in one
    message by mistake."""
    require(actor, Action.APPROVE_ALERT, "Approving alerts needs a commander or an API client with alerts:write.")
    now = timezone.now()
    with transaction.atomic():
        alert, incident = _issued_alert_for_write(actor, alert_id)
        if alert.state != AlertState.DRAFT:
            raise Conflict(f"Alert {alert.identifier} is {alert.state}, not a draft: it was issued already.",
                           state=alert.state)
        _require_open(incident)
        if alert.expires is not None and alert.expires <= now:
            raise Conflict(f"Alert {alert.identifier} expired at {alert.expires.isoformat()} before it was approved; "
                           "draft a new one.", state=alert.state)
        languages = language_state(agreed=alert.language_fingerprints, infos=alert.infos.all())
        if not languages.in_step and not confirm_languages:
            raise Conflict(
                gettext("The languages of alert %(identifier)s differ: %(drift)s. Check them, or confirm that "
                        "the alert is issued as it is.") % {"identifier": alert.identifier,
                                                             "drift": languages.message()},
                languages_in_step=False, languages_changed=list(languages.changed),
                languages_unchanged=list(languages.unchanged),
            )
        sent = cap_moment(now, cluster_zone(alert.cluster_id))
        alert.sent, alert.sent_offset = sent, offset_minutes(sent)
        message = cap_alert(alert)
        document = cap.render_cap(message)
        alert.state, alert.approved_by, alert.received_at, alert.updated_at = AlertState.ACTIVE, actor.label, now, now
        alert.document, alert.document_sha256 = document, hashlib.sha256(document).hexdigest()
        alert.save(update_fields=["sent", "sent_offset", "state", "approved_by", "received_at", "updated_at",
                                  "document", "document_sha256"])
        affected = {link.jurisdiction_id for link in alert.affected.all()}
        audit_record(
            actor=actor, action="alert.issued", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=alert.owner_id,
            detail={"incident": incident.public_id, "identifier": alert.identifier, "msg_type": alert.msg_type,
                    "sha256": alert.document_sha256, "drafted_by": alert.drafted_by,
                    # Issued although its languages differed: who confirmed it is this entry's actor.
                    **({"languages_changed": list(languages.changed),
                        "languages_unchanged": list(languages.unchanged)} if not languages.in_step else {})},
        )
        emit_alert_event("alert.issued", alert=alert, message=message, affected=affected, replaced=[],
                         incident=incident.public_id, now=now)
        incident_timeline_record(
            incident=incident, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
            text=f"Alert {alert.identifier} issued ({alert.scope}): {_headlines(message)}",
        )
    return alert


def alert_edit_draft(*, actor: Principal, alert_id, data: Mapping[str, Any]) -> Alert:
    """Change the wording of a draft's language blocks (POST /api/v1/alerts/{id}/wording/).

    `info`: per language, the headline, description and instruction that replace the block's
    (a text not given is kept); a Traditional block (zh-HK, zh-MO) not written yet is added,
    over the same area. `languages_agree`: the officer says the blocks say the same. The
    fingerprints of agreement move on when the blocks are in step (incidents.alerts.languages)."""
    require(actor, Action.DRAFT_ALERT, "Editing alerts needs a commander or an API client with alerts:write.")
    given = AlertTerms.of(data)
    now = timezone.now()
    with transaction.atomic():
        alert, incident = _issued_alert_for_write(actor, alert_id)
        if alert.state != AlertState.DRAFT:
            raise Conflict(f"Alert {alert.identifier} is {alert.state}, not a draft: issue an update instead.",
                           state=alert.state)
        _require_open(incident)
        previous = cap_alert(alert)
        by_language = {info.language: info for info in previous.infos}
        infos = []
        for language in LANGUAGES:
            wording, info = given.wording.get(language), by_language.get(language)
            if info is None:
                if not wording or wording == Wording():
                    continue
                # A new Traditional block: the Simplified block's terms and area, its own texts.
                info = replace(by_language[previous.infos[0].language], language=language, headline=None,
                               description=None, instruction=DEFAULT_INSTRUCTION.get(language))
            if wording:
                mark = EXERCISE_MARK.get(language, "") if incident.exercise else ""
                headline = wording.headline
                if headline is not None and mark and not headline.startswith(mark):
                    headline = mark + headline
                info = replace(info, headline=headline if headline is not None else info.headline,
                               description=wording.description if wording.description is not None
                               else info.description,
                               instruction=wording.instruction if wording.instruction is not None
                               else info.instruction)
            infos.append(info)
        infos += [info for info in previous.infos if info.language not in LANGUAGES]
        message = replace(previous, infos=infos)
        before = language_state(agreed=alert.language_fingerprints, infos=previous.infos)
        agreed = agreement_after_edit(agreed=alert.language_fingerprints, infos=infos,
                                      languages_agree=bool(data.get("languages_agree")))
        # The blocks are rows: written anew (their areas and resources with them).
        AlertInfo.objects.filter(alert=alert).delete()
        rows, pairs, _references = child_rows(alert, message)
        AlertInfo.objects.bulk_create(rows)
        resources, areas = info_children(pairs)
        AlertResource.objects.bulk_create(resources)
        AlertArea.objects.bulk_create(areas)
        document = cap.render_cap(message)
        alert.document, alert.document_sha256 = document, hashlib.sha256(document).hexdigest()
        alert.language_fingerprints, alert.updated_at = agreed, now
        alert.save(update_fields=["document", "document_sha256", "language_fingerprints", "updated_at"])
        after = language_state(agreed=agreed, infos=infos)
        audit_record(
            actor=actor, action="alert.edited", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=alert.owner_id,
            detail={"incident": incident.public_id, "identifier": alert.identifier,
                    "languages": sorted(given.wording), "languages_in_step": after.in_step,
                    "languages_changed": list(after.changed), "was_in_step": before.in_step,
                    "languages_agree": bool(data.get("languages_agree"))},
        )
    return alert


def alert_update(*, actor: Principal, alert_id, data: Mapping[str, Any]) -> Alert:
    """Issue an Update of an issued alert: the incident as it is now, in a new message that names
    the alert (and what it replaced) in <references>. Terms not given are the alert's; the
    headline and description not given are written anew from the incident. Returns the Update."""
    require(actor, Action.APPROVE_ALERT, "Updating alerts needs a commander or an API client with alerts:write.")
    given = AlertTerms.of(data)
    now = timezone.now()
    with transaction.atomic():
        target, incident = _issued_alert_for_write(actor, alert_id)
        _require_in_charge(target, "updated")
        _require_open(incident)
        previous = cap_alert(target)
        terms = _terms(given, previous=previous, now=now)
        affected = _affected_codes(incident)
        message = _incident_message(incident=incident, affected=affected, terms=terms, msg_type="Update",
                                    references=chain(previous), now=now)
        return _issue_replacing(actor=actor, incident=incident, target=target, message=message, affected=affected,
                                now=now, text=f"updates {target.identifier}: {_headlines(message)}")


def alert_cancel(*, actor: Principal, alert_id, note: str = "") -> Alert:
    """Issue a Cancel of an issued alert (over the same areas, naming it in <references>); the
    incident may be closed already. Returns the Cancel."""
    require(actor, Action.APPROVE_ALERT, "Cancelling alerts needs a commander or an API client with alerts:write.")
    now = timezone.now()
    with transaction.atomic():
        target, incident = _issued_alert_for_write(actor, alert_id)
        _require_in_charge(target, "cancelled")
        previous = cap_alert(target)
        message = cancel_message(cancelled=previous, identifier=_next_identifier(incident, target.sender),
                                 sent=cap_moment(now, cluster_zone(target.cluster_id)), note=note or None)
        affected = {link.jurisdiction_id for link in target.affected.all()}
        return _issue_replacing(actor=actor, incident=incident, target=target, message=message, affected=affected,
                                now=now, text=f"cancels {target.identifier}" + (f": {note}" if note else "."))


def _issue_replacing(*, actor: Principal, incident: Incident, target: Alert, message: cap.Alert,
                     affected: set[str], now, text: str) -> Alert:
    """Store and issue an Update or Cancel of `target`, and mark what it replaces."""
    targets = referenced(owner=target.owner_id, message=message)
    state = AlertState.CANCELLED if message.msg_type == "Cancel" else AlertState.ACTIVE
    alert, affected = _store_issued(actor=actor, incident=incident, message=message, affected=affected, state=state,
                                    targets=targets, now=now, approved=True)
    replaced = apply_to_referenced(actor=actor, message=message, alert=alert, targets=targets, now=now)
    audit_record(
        actor=actor, action="alert.issued", object_type="alert", object_id=str(alert.id),
        object_jurisdiction=alert.owner_id,
        detail={"incident": incident.public_id, "identifier": alert.identifier, "msg_type": alert.msg_type,
                "sha256": alert.document_sha256, "replaces": replaced},
    )
    emit_alert_event(EVENT_FOR_MSG_TYPE[message.msg_type], alert=alert, message=message, affected=affected,
                     replaced=replaced, incident=incident.public_id, now=now)
    incident_timeline_record(incident=incident, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
                             text=f"Alert {alert.identifier} ({message.msg_type}) {text}")
    return alert


# --- the rules they share ----------------------------------------------------------------------------


def _require_open(incident: Incident) -> None:
    if not incident_lifecycle.is_open(incident.status):
        raise Conflict(f"{incident.public_id} is {incident.status}: alerts about it can only be cancelled.",
                       current_status=incident.status)


def _require_in_charge(target: Alert, verb: str) -> None:
    """Only the message in charge of its chain is updated or cancelled."""
    if target.state == AlertState.DRAFT:
        raise Conflict(f"Alert {target.identifier} is a draft: approve it first.", state=target.state)
    if target.state == AlertState.CANCELLED:
        raise Conflict(f"Alert {target.identifier} is cancelled.", state=target.state)
    if target.state == AlertState.UPDATED:
        raise Conflict(f"Alert {target.identifier} was updated by {target.superseded_by_id}; that one is {verb} "
                       "instead.", state=target.state, superseded_by=str(target.superseded_by_id))


def _incident_for_alerts(actor: Principal, public_id) -> tuple[Incident, set[str]]:
    """The incident named in a draft, locked: 400 when the actor may not see it, 403 when it is
    not the reporting jurisdiction's (only the reporter issues alerts about its incident)."""
    incident = Incident.objects.select_for_update(no_key=True).filter(public_id=str(public_id)).first()
    affected = _affected_codes(incident) if incident is not None else set()
    if incident is None or not decide(Viewer.of(actor), incident_facts(incident, affected=affected)):
        raise ValidationFailed.on("incident", f"No incident {public_id!r}.")
    if actor.jurisdiction != incident.reporting_jurisdiction_id:
        raise PermissionDenied(f"Only {incident.reporting_jurisdiction_id}, the reporting jurisdiction, issues alerts "
                               f"about {incident.public_id}.")
    return incident, affected


def _issued_alert_for_write(actor: Principal, alert_id) -> tuple[Alert, Incident]:
    """An alert the actor's jurisdiction issued from an incident, both locked (incident first):
    404 when the actor may not see it, 403 when it is another's, 409 for an imported alert
    (its sender updates and cancels it with CAP)."""
    try:
        key = uuid.UUID(str(alert_id))
    except ValueError:
        raise NotFound(f"No alert {alert_id}.") from None
    alert = Alert.objects.filter(pk=key).defer("document").prefetch_related("affected").first()
    if alert is None or not alert_decision(viewer=Viewer.of(actor), alert=alert):
        raise NotFound(f"No alert {alert_id}.")
    if alert.owner_id != actor.jurisdiction:
        raise PermissionDenied(f"Only {alert.owner_id}, which issued it, updates or cancels alert {alert.identifier}.")
    if alert.incident_id is None:
        raise Conflict(f"Alert {alert.identifier} was imported: its sender updates or cancels it with CAP "
                       "(POST /api/v1/cap/).", origin=alert.origin)
    incident = Incident.objects.select_for_update(no_key=True).get(pk=alert.incident_id)
    alert = (
        Alert.objects.select_for_update(no_key=True, of=("self",)).filter(pk=key).defer("document")
        .prefetch_related(Prefetch("infos", queryset=AlertInfo.objects.prefetch_related("resources", "areas")),
                          "references", "affected")
        .get()
    )
    return alert, incident


def _affected_codes(incident: Incident) -> set[str]:
    return set(incident.affected.values_list("jurisdiction_id", flat=True))


def _terms(given: AlertTerms, *, previous: cap.Alert | None, now) -> Terms:
    """The terms of a new message: what the caller gave, else the previous message's (an
    Update), else ours. The headline and description are the caller's or written anew."""
    first = previous.infos[0] if previous and previous.infos else None
    scope = given.scope or (previous.scope if previous else "Public")
    kept = previous is not None and scope == previous.scope

    def either(value, fallback):
        return value if value is not None else fallback

    restriction = either(given.restriction, previous.restriction if kept else None)
    addresses = either(given.addresses, list(previous.addresses) if kept else [])
    if scope == "Restricted" and not restriction:
        raise ValidationFailed.on("restriction", "A Restricted alert says who it is for (CAP <restriction>).")
    if scope != "Restricted" and given.restriction:
        raise ValidationFailed.on("restriction", "Only a Restricted alert has a restriction.")
    if scope == "Private" and not addresses:
        raise ValidationFailed.on("addresses", "A Private alert names its addressees (CAP <addresses>).")
    if scope != "Private" and given.addresses:
        raise ValidationFailed.on("addresses", "Only a Private alert has addresses.")
    if given.web and not is_web_page(given.web):
        raise ValidationFailed.on("web", gettext("An http or https address: readers open it as a web page."))
    expires = either(given.expires, first.expires if first else None)
    if expires is not None and expires <= now:
        raise ValidationFailed.on("expires", "This time has passed; an alert expires in the future.")
    wording = dict(given.wording)
    for info in previous.infos if previous else []:
        # An instruction stays until it is replaced; the headline and description describe the
        # incident, which may have changed, so they are written anew unless given.
        mine = wording.get(info.language, Wording())
        if mine.instruction is None and info.instruction:
            wording[info.language] = replace(mine, instruction=info.instruction)
    return Terms(
        scope=scope, restriction=restriction, addresses=addresses,
        response_types=either(given.response_types, list(first.response_types) if first else []),
        # "" given clears a contact or web address the previous message had.
        expires=expires, contact=either(given.contact, first.contact if first else None) or None,
        web=either(given.web, first.web if first else None) or None, note=given.note, wording=wording,
    )


def _incident_message(*, incident: Incident, affected: set[str], terms: Terms, msg_type: str,
                      references: list[cap.Reference], now) -> cap.Alert:
    owner = incident.reporting_jurisdiction_id
    names = {code: (zh, en) for code, zh, en in
             Jurisdiction.objects.filter(code__in=sorted(affected | {owner})).values_list("code", "name_zh", "name_en")}
    place = AffectedNames(names={code: names[code] for code in affected if code in names}, owner_names=names[owner])
    zone = cluster_zone(incident.cluster_id)
    sender = sender_for(owner)
    return incident_message(
        incident=incident, place=place, terms=terms, identifier=_next_identifier(incident, sender), sender=sender,
        sent=cap_moment(now, zone), msg_type=msg_type, references=references, zone=zone,
    )


def _next_identifier(incident: Incident, sender: str) -> str:
    """The next free identifier of the incident's messages (counted under the incident's lock)."""
    number = Alert.objects.filter(incident=incident).count() + 1
    while Alert.objects.filter(sender=sender, identifier=identifier_for(incident, number)).exists():
        number += 1
    return identifier_for(incident, number)


def _store_issued(*, actor: Principal, incident: Incident, message: cap.Alert, affected: set[str], state: str,
                  targets: list[Alert], now, approved: bool = False) -> tuple[Alert, set[str]]:
    """The message's rows. Its affected jurisdictions are the incident's, those its areas touch
    (as an import of it would find them) and those of what it replaces; its level is the
    incident's, or more severe when it replaces a more severe alert."""
    affected = affected | affected_jurisdictions(area for info in message.infos for area in info.areas) | set(
        AlertJurisdiction.objects.filter(alert__in=targets).values_list("jurisdiction_id", flat=True)
    )
    document = cap.render_cap(message)
    alert = Alert.objects.create(
        **alert_values(message),
        state=state,
        signature=SignatureStatus.ABSENT,
        origin=AlertOrigin.ISSUED,
        owner_id=incident.reporting_jurisdiction_id,
        cluster_id=incident.cluster_id,
        level=most_severe([incident.level] + [target.level for target in targets]),
        category=incident.category,
        incident=incident,
        document=document,
        document_sha256=hashlib.sha256(document).hexdigest(),
        drafted_by=actor.label,
        approved_by=actor.label if approved else "",
        received_at=now,
        updated_at=now,
    )
    store_children(alert, message, affected)
    return alert, affected


def _headlines(message: cap.Alert) -> str:
    return " / ".join(info.headline or info.event for info in message.infos)
