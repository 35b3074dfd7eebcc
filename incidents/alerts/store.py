"""Storing alerts, imported (incidents.alerts.intake) or issued from incidents
(incidents.alerts.issuing): a message's rows, what an Update or Cancel does to the alerts it
names in <references> (the chains), and the write's one event."""

from coordination.audit import audit_record
from coordination.principals import Principal
from incidents.alerts import cap
from incidents.alerts.convert import child_rows, info_children
from incidents.alerts.models import (
    Alert,
    AlertArea,
    AlertInfo,
    AlertJurisdiction,
    AlertReference,
    AlertResource,
    AlertState,
)
from incidents.alerts.selectors import alert_data_kind
from sharing.eventlog import Subject, emit_event
from sharing.models import PublicationKind

EVENT_FOR_MSG_TYPE = {"Alert": "alert.issued", "Update": "alert.updated", "Cancel": "alert.cancelled"}


def referenced(*, owner: str, message: cap.Alert) -> list[Alert]:
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


def store_children(alert: Alert, message: cap.Alert, affected: set[str]) -> None:
    infos, pairs, references = child_rows(alert, message)
    AlertInfo.objects.bulk_create(infos)
    resources, areas = info_children(pairs)
    AlertResource.objects.bulk_create(resources)
    AlertArea.objects.bulk_create(areas)
    AlertReference.objects.bulk_create(references)
    AlertJurisdiction.objects.bulk_create(
        [AlertJurisdiction(alert=alert, jurisdiction_id=code) for code in sorted(affected)]
    )


def apply_to_referenced(*, actor: Principal, message: cap.Alert, alert: Alert, targets: list[Alert],
                        now) -> list[str]:
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


def take_state_of_earlier_arrivals(alert: Alert) -> None:
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


def emit_alert_event(name: str, *, alert: Alert, message: cap.Alert, affected: set[str], replaced: list[str],
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
