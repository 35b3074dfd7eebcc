"""Importing CAP 1.2 documents (POST /api/v1/cap/): `alert_import`. The rows, the chains of
Updates and Cancels and the event are written by incidents.alerts.store, which issuing
(incidents.alerts.issuing) shares.

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
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ApplicationError, PayloadTooLarge, PermissionDenied
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from incidents.alerts import cap
from incidents.alerts.areas import affected_jurisdictions
from incidents.alerts.convert import NotStorable, alert_values, check_storable
from incidents.alerts.mapping import category_for_cap, level_for_severities, most_severe
from incidents.alerts.models import Alert, AlertJurisdiction, AlertState, SignatureStatus
from incidents.alerts.senders import SenderNotAllowed, sender_matches, sender_require
from incidents.alerts.store import (
    EVENT_FOR_MSG_TYPE,
    apply_to_referenced,
    emit_alert_event,
    referenced,
    store_children,
    take_state_of_earlier_arrivals,
)

IMPORTED_MSG_TYPES = ("Alert", "Update", "Cancel")


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
        targets = referenced(owner=owner, message=message)
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
        store_children(alert, message, affected)
        replaced = apply_to_referenced(actor=actor, message=message, alert=alert, targets=targets, now=now)
        take_state_of_earlier_arrivals(alert)
        audit_record(
            actor=actor, action="alert.imported", object_type="alert", object_id=str(alert.id),
            object_jurisdiction=owner,
            detail={"identifier": alert.identifier, "sender": alert.sender, "msg_type": alert.msg_type,
                    "status": alert.status, "scope": alert.scope, "signature": alert.signature,
                    "state": alert.state, "sha256": alert.document_sha256, "replaces": replaced},
        )
        emit_alert_event(EVENT_FOR_MSG_TYPE[alert.msg_type], alert=alert, message=message, affected=affected,
                         replaced=replaced, incident=None, now=now)
    return ImportResult(str(alert.id), True)
