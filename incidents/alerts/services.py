"""Writes of alerts: importing CAP 1.2 documents (POST /api/v1/cap/).

`alert_import`, in order:

1. the caller may import (Action.IMPORT_ALERT: commanders, API clients with alerts:write);
2. `parse_cap`: size, no DTD or entities, well-formed, a CAP 1.2 <alert>, the OASIS schema,
   CAP's value formats; a refusal is a 400 naming the reason, line and element;
3. only Alert, Update and Cancel are imported (an Ack or Error answers a message; it is not
   an alert);
4. the XML signature is verified, failed or absent; a sender named in
   CAP_REQUIRE_SIGNED_SENDERS is refused unless it is verified;
5. the affected jurisdictions are computed from the areas (CPU work, before any lock);
6. one transaction: the owner's imports queue on its jurisdiction row, so an Update and the
   alert it names never pass each other unseen; a message already held (same sender and
   identifier) changes nothing; the Update or Cancel is applied to the referenced alerts the
   importer owns; an alert whose Update or Cancel arrived first takes that state at once;
   an audit entry per changed alert, and one event.

The importer's jurisdiction owns the alert. An Update or Cancel changes only alerts of the
same owner and the same CAP status: a city system cannot cancel another jurisdiction's
warning by naming it, and an exercise cannot cancel a real one.
"""

import fnmatch
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict, PayloadTooLarge, PermissionDenied
from coordination.models import Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from coordination.services import audit_record
from incidents.alerts import cap
from incidents.alerts.areas import affected_jurisdictions
from incidents.alerts.convert import (
    NotStorable,
    alert_values,
    check_storable,
    child_rows,
    info_children,
)
from incidents.alerts.mapping import category_for_cap, level_for_severities, most_severe
from incidents.alerts.models import (
    Alert,
    AlertArea,
    AlertInfo,
    AlertJurisdiction,
    AlertReference,
    AlertResource,
    AlertState,
    SignatureStatus,
)
from incidents.alerts.selectors import alert_decision
from sharing.eventlog import Subject, emit_event
from sharing.models import DataKind
from sharing.visibility import Viewer

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
    return any(fnmatch.fnmatchcase(sender, pattern) for pattern in settings.CAP_REQUIRE_SIGNED_SENDERS)


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
        existing = Alert.objects.filter(sender=message.sender, identifier=message.identifier).first()
        if existing is not None:
            return _unchanged(actor=actor, alert=existing)
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
            # Another jurisdiction's import of the same message committed first.
            twin = Alert.objects.filter(sender=message.sender, identifier=message.identifier).first()
            if twin is None:
                raise
            return _unchanged(actor=actor, alert=twin)
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
        emit_event(
            EVENT_FOR_MSG_TYPE[alert.msg_type],
            subject=Subject(type="alert", id=str(alert.id), cluster=alert.cluster_id or "", owner=owner,
                            jurisdictions=sorted(affected), level=alert.level, category=alert.category,
                            data_kind=DataKind.INCIDENTS, exercise=alert.exercise),
            payload=event_payload(alert=alert, message=message, affected=affected, replaced=replaced),
            at=now,
        )
    return ImportResult(str(alert.id), True)


def _unchanged(*, actor: Principal, alert: Alert) -> ImportResult:
    """A message already held: nothing changes. The caller is told which alert it is when it
    may see it; otherwise only that the message is taken (it holds the document anyway)."""
    if not alert_decision(viewer=Viewer.of(actor), alert=alert):
        raise Conflict("This sender's message with this identifier is already held by another jurisdiction.")
    return ImportResult(str(alert.id), False)


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


def event_payload(*, alert: Alert, message: cap.Alert, affected: set[str], replaced: list[str]) -> dict:
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
        "incident": None,
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

