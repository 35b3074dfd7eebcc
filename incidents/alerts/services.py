"""Writes of alerts: importing CAP 1.2 documents (POST /api/v1/cap/), and issuing alerts from
incidents (drafting, approving, updating, cancelling: the section below the import).

`alert_import`, in order:

1. the caller may import (Action.IMPORT_ALERT: commanders, API clients with alerts:write);
2. `parse_cap`: size, no DTD or entities, well-formed, a CAP 1.2 <alert>, the OASIS schema,
   CAP's value formats; a refusal is a 400 naming the reason, line and element;
3. only Alert, Update and Cancel are imported (an Ack or Error answers a message; it is not
   an alert);
4. the sender belongs to the importer's jurisdiction (incidents.alerts.senders: the sender
   registry); otherwise a 403 naming it, audited;
5. the XML signature is verified, failed or absent; a sender named in
   CAP_REQUIRE_SIGNED_SENDERS is refused unless it is verified;
6. the affected jurisdictions are computed from the areas (CPU work, before any lock);
7. one transaction: the owner's imports queue on its jurisdiction row, so an Update and the
   alert it names never pass each other unseen; a message the owner already holds (same
   sender and identifier) changes nothing; the Update or Cancel is applied to the referenced
   alerts the importer owns; an alert whose Update or Cancel arrived first takes that state
   at once; an audit entry per changed alert, and one event.

The importer's jurisdiction owns the alert. An Update or Cancel changes only alerts of the
same owner and the same CAP status: a city system cannot cancel another jurisdiction's
warning by naming it, and an exercise cannot cancel a real one.
"""

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext

from config.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ValidationFailed,
)
from coordination.models import Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from coordination.services import audit_record
from incidents import lifecycle as incident_lifecycle
from incidents.alerts import cap
from incidents.alerts.areas import affected_jurisdictions
from incidents.alerts.compose import (
    Place,
    Terms,
    Wording,
    cancel_message,
    cap_moment,
    chain,
    identifier_for,
    incident_message,
    sender_for,
)
from incidents.alerts.convert import (
    NotStorable,
    alert_values,
    cap_alert,
    check_storable,
    child_rows,
    info_children,
    offset_minutes,
)
from incidents.alerts.links import is_web_page
from incidents.alerts.mapping import category_for_cap, level_for_severities, most_severe
from incidents.alerts.models import (
    Alert,
    AlertArea,
    AlertInfo,
    AlertJurisdiction,
    AlertOrigin,
    AlertReference,
    AlertResource,
    AlertState,
    SignatureStatus,
)
from incidents.alerts.selectors import alert_data_kind, alert_decision
from incidents.alerts.senders import SenderNotAllowed, sender_matches, sender_require
from incidents.models import Incident, TimelineKind
from incidents.payloads import cluster_zone
from incidents.selectors import incident_facts
from incidents.services import incident_timeline_record
from sharing.eventlog import Subject, emit_event
from sharing.models import PublicationKind
from sharing.visibility import Viewer, decide

IMPORTED_MSG_TYPES = ("Alert", "Update", "Cancel")
EVENT_FOR_MSG_TYPE = {"Alert": "alert.issued", "Update": "alert.updated", "Cancel": "alert.cancelled"}


class CapDocumentRejected(ApplicationError):
    """A CAP document we do not import. The problem details carry `code` (for programs),
    `reason` (for people) and, where the document has a place for it, `line` and `element`."""

    status = 400
    slug = "cap-rejected"
    title = "CAP document rejected"

    @classmethod
    def because(cls, *, code: str, reason: str, line: int | None = None,
                element: str | None = None) -> "CapDocumentRejected":
        place = [f"line {line}"] if line is not None else []
        place += [f"<{element}>"] if element else []
        detail = reason + (f" ({', '.join(place)})" if place else "")
        return cls(detail, errors={element or "document": [reason]}, code=code, reason=reason, line=line,
                   element=element)


@dataclass(frozen=True)
class ImportResult:
    alert_id: str
    created: bool


def signature_required(sender: str) -> bool:
    """Whether CAP_REQUIRE_SIGNED_SENDERS names the sender (exactly or by a shell pattern)."""
    return any(sender_matches(pattern, sender) for pattern in settings.CAP_REQUIRE_SIGNED_SENDERS)


def _reject(*, actor: Principal, document: bytes, rejection: CapDocumentRejected) -> CapDocumentRejected:
    """Audit a refused document (hostile ones are worth knowing about) and hand the error back."""
    with transaction.atomic():
        audit_record(
            actor=actor, action="alert.import_rejected", object_type="alert",
            object_jurisdiction=actor.jurisdiction,
            detail={"code": rejection.extra["code"], "reason": rejection.extra["reason"][:500],
                    "line": rejection.extra["line"], "element": rejection.extra["element"],
                    "sha256": hashlib.sha256(document).hexdigest(), "bytes": len(document)},
        )
    return rejection


def _read(*, actor: Principal, document: bytes) -> tuple[cap.Alert, str]:
    """The checked message and its signature status, or the reason it is refused."""
    limit = settings.CAP_MAX_BYTES
    try:
        message = cap.parse_cap(document, max_bytes=limit)
    except cap.CapRejected as rejected:
        if rejected.code == "too_large":
            raise PayloadTooLarge(f"The CAP document is larger than {limit} bytes.") from None
        raise _reject(actor=actor, document=document, rejection=CapDocumentRejected.because(
            code=rejected.code, reason=rejected.reason, line=rejected.line, element=rejected.element)) from None
    if message.msg_type not in IMPORTED_MSG_TYPES:
        raise _reject(actor=actor, document=document, rejection=CapDocumentRejected.because(
            code="unsupported", element="msgType",
            reason=f"msgType {message.msg_type} answers another message and is not an alert; "
                   f"imported are {', '.join(IMPORTED_MSG_TYPES)}"))
    try:
        check_storable(message)
    except NotStorable as problem:
        raise _reject(actor=actor, document=document, rejection=CapDocumentRejected.because(
            code="unsupported", reason=problem.reason, element=problem.element)) from None
    try:
        sender_require(jurisdiction=actor.jurisdiction, sender=message.sender)
    except SenderNotAllowed:
        with transaction.atomic():
            audit_record(actor=actor, action="alert.import_refused_sender", object_type="alert",
                         object_jurisdiction=actor.jurisdiction,
                         detail={"sender": message.sender, "identifier": message.identifier,
                                 "sha256": hashlib.sha256(document).hexdigest(), "bytes": len(document)})
        raise
    signature = cap.verify_signature(document, max_bytes=limit) if message.has_signature else SignatureStatus.ABSENT
    if signature != SignatureStatus.VERIFIED and signature_required(message.sender):
        raise _reject(actor=actor, document=document, rejection=CapDocumentRejected.because(
            code="signature_required", element="Signature",
            reason=f"alerts from {message.sender} must carry a valid XML signature; this one's is {signature}"))
    return message, str(signature)


def alert_import(*, actor: Principal, document: bytes) -> ImportResult:
    """Import one CAP 1.2 document for the actor's jurisdiction (see the module docstring)."""
    if not actor.can(Action.IMPORT_ALERT):
        raise PermissionDenied("Importing CAP alerts needs a commander or an API client with alerts:write.")
    message, signature = _read(actor=actor, document=document)
    areas = [area for info in message.infos for area in info.areas]
    found = affected_jurisdictions(areas)
    owner = actor.jurisdiction
    now = timezone.now()

    with transaction.atomic():
        Jurisdiction.objects.select_for_update(no_key=True).get(code=owner)
        # Only the owner's own: another jurisdiction's record of this sender's identifier is
        # never the answer to this one's import (nor a reason not to store it).
        existing = Alert.objects.filter(sender=message.sender, identifier=message.identifier, owner_id=owner).first()
        if existing is not None:
            return ImportResult(str(existing.id), False)
        targets = _referenced(owner=owner, message=message)
        # Whoever could see what an Update or Cancel replaces must see it too: it concerns
        # their jurisdictions and is at least as severe.
        affected = found | set(
            AlertJurisdiction.objects.filter(alert__in=targets).values_list("jurisdiction_id", flat=True)
        )
        own_level = [level_for_severities(info.severity for info in message.infos)] if message.infos else []
        own_category = category_for_cap(category for info in message.infos for category in info.categories)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    **alert_values(message),
                    state=AlertState.CANCELLED if message.msg_type == "Cancel" else AlertState.ACTIVE,
                    signature=signature,
                    owner_id=owner,
                    cluster_id=actor.clusters[0] if actor.clusters else None,
                    level=most_severe(own_level + [target.level for target in targets]),
                    category=own_category or next((target.category for target in targets if target.category), ""),
                    document=document,
                    document_sha256=hashlib.sha256(document).hexdigest(),
                    imported_by=actor.label,
                    received_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            # The same message committed a moment ago (the jurisdiction lock above makes this
            # rare; the unique constraint is what guarantees it lands once).
            twin = Alert.objects.filter(sender=message.sender, identifier=message.identifier, owner_id=owner).first()
            if twin is None:
                raise
            return ImportResult(str(twin.id), False)
        _store_children(alert, message, affected)
        replaced = _apply(actor=actor, message=message, alert=alert, targets=targets, now=now)
        _take_state_of_earlier_arrivals(alert)
        audit_record(
            actor=actor, action="alert.imported", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=owner,
            detail={"identifier": alert.identifier, "sender": alert.sender, "msg_type": alert.msg_type,
                    "status": alert.status, "scope": alert.scope, "signature": alert.signature,
                    "state": alert.state, "sha256": alert.document_sha256, "replaces": replaced},
        )
        _emit(EVENT_FOR_MSG_TYPE[alert.msg_type], alert=alert, message=message, affected=affected,
              replaced=replaced, incident=None, now=now)
    return ImportResult(str(alert.id), True)


def _referenced(*, owner: str, message: cap.Alert) -> list[Alert]:
    """The owner's alerts that an Update or Cancel names, locked in a fixed order.

    Only those of the same CAP status: a drill's Cancel (status Exercise) that names a real
    warning must not take the real warning off the public feed.
    """
    if message.msg_type not in ("Update", "Cancel") or not message.references:
        return []
    named = {(reference.sender, reference.identifier) for reference in message.references}
    # By identifier in the query and by (sender, identifier) here: one OR per reference
    # would outgrow SQLite's expression depth for a message naming a thousand.
    candidates = (
        Alert.objects.select_for_update(no_key=True, of=("self",))
        .select_related("superseded_by")
        .defer("document", "superseded_by__document")
        .filter(owner_id=owner, status=message.status, identifier__in=sorted({name for _, name in named}))
        .exclude(state=AlertState.DRAFT)  # never issued: nothing to update or cancel
        .order_by("pk")
    )
    return [alert for alert in candidates if (alert.sender, alert.identifier) in named]


def _store_children(alert: Alert, message: cap.Alert, affected: set[str]) -> None:
    infos, pairs, references = child_rows(alert, message)
    AlertInfo.objects.bulk_create(infos)
    resources, areas = info_children(pairs)
    AlertResource.objects.bulk_create(resources)
    AlertArea.objects.bulk_create(areas)
    AlertReference.objects.bulk_create(references)
    AlertJurisdiction.objects.bulk_create(
        [AlertJurisdiction(alert=alert, jurisdiction_id=code) for code in sorted(affected)]
    )


def _apply(*, actor: Principal, message: cap.Alert, alert: Alert, targets: list[Alert], now) -> list[str]:
    """An Update marks the alerts it names updated, a Cancel marks them cancelled; a later
    message already applied to one keeps it. Returns the ids of the alerts changed."""
    new_state = AlertState.CANCELLED if message.msg_type == "Cancel" else AlertState.UPDATED
    changed = []
    for target in targets:
        if not _takes(target, new_state=new_state, by=alert):
            continue
        previous = target.state
        Alert.objects.filter(pk=target.pk).update(state=new_state, superseded_by=alert, updated_at=now)
        audit_record(
            actor=actor, action=f"alert.{new_state}", object_type="alert", object_id=str(target.pk),
            object_jurisdiction=target.owner_id,
            detail={"by": str(alert.pk), "msg_type": message.msg_type, "previous_state": previous},
        )
        changed.append(str(target.pk))
    return changed


def _takes(target: Alert, *, new_state: str, by: Alert) -> bool:
    """Cancelled is final; otherwise the latest message (by <sent>) decides."""
    if target.state == AlertState.CANCELLED:
        return False
    if new_state == AlertState.CANCELLED or target.superseded_by is None:
        return True
    return target.superseded_by.sent <= by.sent


def _take_state_of_earlier_arrivals(alert: Alert) -> None:
    """An Update or Cancel naming this alert may have arrived before it (feeds deliver out of
    order): the alert is then born updated or cancelled."""
    if alert.state == AlertState.CANCELLED:
        return
    naming = (
        Alert.objects.filter(
            owner_id=alert.owner_id, status=alert.status, msg_type__in=("Update", "Cancel"),
            references__sender=alert.sender, references__identifier=alert.identifier,
        )
        .exclude(pk=alert.pk)
        .only("id", "msg_type", "sent")
        .order_by("-sent", "id")
    )
    later = list(naming)
    cancel = next((other for other in later if other.msg_type == "Cancel"), None)
    by = cancel or (later[0] if later else None)
    if by is None:
        return
    alert.state = AlertState.CANCELLED if cancel else AlertState.UPDATED
    alert.superseded_by = by
    Alert.objects.filter(pk=alert.pk).update(state=alert.state, superseded_by=by)


# --- the event ------------------------------------------------------------------------------------


def _written(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _emit(name: str, *, alert: Alert, message: cap.Alert, affected: set[str], replaced: list[str],
          incident: str | None, now) -> None:
    """The write's one event, judged by the rule as the alert is (selectors.alert_data_kind):
    a public alert reaches every principal, a draft its owner alone."""
    kind = alert_data_kind(alert)
    emit_event(
        name,
        subject=Subject(type="alert", id=str(alert.id), cluster=alert.cluster_id or "", owner=alert.owner_id,
                        jurisdictions=[] if kind == PublicationKind.DRAFTS else sorted(affected),
                        level=alert.level, category=alert.category, data_kind=kind, exercise=alert.exercise),
        payload=event_payload(alert=alert, message=message, affected=affected, replaced=replaced, incident=incident),
        at=now,
    )


def event_payload(*, alert: Alert, message: cap.Alert, affected: set[str], replaced: list[str],
                  incident: str | None = None) -> dict:
    """What subscribers get as `data` (sharing/event_schemas/alerts.py)."""
    return {
        "id": str(alert.id),
        "identifier": message.identifier,
        "sender": message.sender,
        "sent": message.sent.isoformat(),
        "status": message.status,
        "msg_type": message.msg_type,
        "scope": message.scope,
        "state": alert.state,
        "exercise": alert.exercise,
        "signature": alert.signature,
        "owner": alert.owner_id,
        "cluster": alert.cluster_id,
        "level": alert.level,
        "category": alert.category,
        "affected_jurisdictions": sorted(affected),
        "incident": incident,
        "references": [
            {"sender": reference.sender, "identifier": reference.identifier, "sent": reference.sent.isoformat()}
            for reference in message.references
        ],
        "replaces": replaced,
        "superseded_by": str(alert.superseded_by_id) if alert.superseded_by_id else None,
        "info": [
            {
                "language": info.language, "category": list(info.categories), "event": info.event,
                "urgency": info.urgency, "severity": info.severity, "certainty": info.certainty,
                "onset": _written(info.onset), "expires": _written(info.expires),
                "sender_name": info.sender_name, "headline": info.headline,
                "area_desc": [area.area_desc for area in info.areas],
            }
            for info in message.infos
        ],
        "contacts": [info.contact for info in message.infos if info.contact],
    }



# --- issuing alerts from incidents -------------------------------------------------------------------
#
# A commander of the incident's reporting jurisdiction (or an API client of it with
# alerts:write) drafts an alert from the incident: a CAP message in zh-CN and en-US, its terms
# from the one table (incidents.alerts.mapping), its area the incident's (compose.py). The
# draft is seen by its owner alone. Approving it issues it (`alert.issued`: on the stream, the
# webhooks and, when it is Public and real, the public feed). An issued alert is updated by a
# new message (msgType Update, naming it in <references>; `alert.updated`) or cancelled by one
# (msgType Cancel; `alert.cancelled`). Each is an audit entry, one event and an entry on the
# incident's timeline. Alerts of an exercise (演练) incident have CAP status Exercise: never
# public, never on the feed.
#
# Lock order: the incident, then the alerts (the drafts count messages under the incident's
# lock, so two drafts never take the same identifier).


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
    _require(actor, Action.DRAFT_ALERT, "Drafting alerts needs a commander or an API client with alerts:write.")
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
        audit_record(
            actor=actor, action="alert.drafted", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=alert.owner_id,
            detail={"incident": found.public_id, "identifier": alert.identifier, "scope": alert.scope,
                    "status": alert.status},
        )
        _emit("alert.drafted", alert=alert, message=message, affected=affected, replaced=[],
              incident=found.public_id, now=now)
        incident_timeline_record(
            incident=found, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
            text=f"Alert {alert.identifier} drafted ({alert.scope}); awaiting approval.",
        )
    return alert


def alert_approve(*, actor: Principal, alert_id) -> Alert:
    """Approve a draft: it is issued now (`alert.issued`), its <sent> the moment of approval."""
    _require(actor, Action.APPROVE_ALERT, "Approving alerts needs a commander or an API client with alerts:write.")
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
                    "sha256": alert.document_sha256, "drafted_by": alert.drafted_by},
        )
        _emit("alert.issued", alert=alert, message=message, affected=affected, replaced=[],
              incident=incident.public_id, now=now)
        incident_timeline_record(
            incident=incident, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
            text=f"Alert {alert.identifier} issued ({alert.scope}): {_headlines(message)}",
        )
    return alert


def alert_update(*, actor: Principal, alert_id, data: Mapping[str, Any]) -> Alert:
    """Issue an Update of an issued alert: the incident as it is now, in a new message that names
    the alert (and what it replaced) in <references>. Terms not given are the alert's; the
    headline and description not given are written anew from the incident. Returns the Update."""
    _require(actor, Action.APPROVE_ALERT, "Updating alerts needs a commander or an API client with alerts:write.")
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
    _require(actor, Action.APPROVE_ALERT, "Cancelling alerts needs a commander or an API client with alerts:write.")
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
    targets = _referenced(owner=target.owner_id, message=message)
    state = AlertState.CANCELLED if message.msg_type == "Cancel" else AlertState.ACTIVE
    alert, affected = _store_issued(actor=actor, incident=incident, message=message, affected=affected, state=state,
                                    targets=targets, now=now, approved=True)
    replaced = _apply(actor=actor, message=message, alert=alert, targets=targets, now=now)
    audit_record(
        actor=actor, action="alert.issued", object_type="alert", object_id=str(alert.id),
        object_jurisdiction=alert.owner_id,
        detail={"incident": incident.public_id, "identifier": alert.identifier, "msg_type": alert.msg_type,
                "sha256": alert.document_sha256, "replaces": replaced},
    )
    _emit(EVENT_FOR_MSG_TYPE[message.msg_type], alert=alert, message=message, affected=affected, replaced=replaced,
          incident=incident.public_id, now=now)
    incident_timeline_record(incident=incident, kind=TimelineKind.ALERT, actor=actor, data={"alert": str(alert.id)},
                             text=f"Alert {alert.identifier} ({message.msg_type}) {text}")
    return alert


# --- the rules they share ----------------------------------------------------------------------------


def _require(actor: Principal, action: Action, message: str) -> None:
    if not actor.can(action):
        raise PermissionDenied(message)


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
    place = Place(names={code: names[code] for code in affected if code in names}, owner_names=names[owner])
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
    _store_children(alert, message, affected)
    return alert, affected


def _headlines(message: cap.Alert) -> str:
    return " / ".join(info.headline or info.event for info in message.infos)
