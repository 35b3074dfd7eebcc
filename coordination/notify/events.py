"""Who was reached, as events: `notification.sent|delivered|failed|opened|acknowledged`
(sharing/event_schemas/notifications.py; docs/notifications.md, "Events").

Emitted by coordination.notify.services and .sending in the transaction of the state change it reports
(sharing.eventlog.emit_event refuses to run outside one), so an event says what committed.
Seen as the incident is: the subject carries the incident's facts (those the playbook engine
keeps, as for an acknowledgement request: coordination.workflows.events.subject) and adds the
jurisdiction reached, which was asked and so may see that its own people were reached.
"""

from datetime import datetime

from coordination.duty.selectors import display_name
from coordination.notify.models import Notification
from coordination.notify.providers.errors import error_kind
from coordination.workflows.events import subject
from coordination.workflows.models import IncidentFacts
from incidents.payloads import cluster_zone
from sharing.eventlog import Subject, emit_events
from sharing.models import DataKind

EVENTS = {
    "sent": "notification.sent",
    "delivered": "notification.delivered",
    "failed": "notification.failed",
    "opened": "notification.opened",
    "acknowledged": "notification.acknowledged",
}


def _subject(row: Notification, facts: IncidentFacts | None) -> Subject:
    incident = row.incident
    concerned = {code for code in (row.jurisdiction_id,) if code}
    if facts is not None:
        return subject(facts, type="notification", id=str(row.pk), concerned=concerned)
    # The engine has not kept this incident's facts (a request written outside a run): the
    # incident row's own facts, with its reporter and the jurisdiction reached.
    return Subject(type="notification", id=str(row.pk), cluster=incident.cluster_id or "",
                   owner=incident.reporting_jurisdiction_id,
                   jurisdictions=sorted({incident.reporting_jurisdiction_id, *concerned}),
                   level=incident.level, category=incident.category, data_kind=DataKind.INCIDENTS,
                   exercise=incident.exercise)


def payload(row: Notification, *, state: str, at: datetime) -> dict:
    """`state` is the event's (`opened` is a moment, not a state); the payload's is the row's."""
    return {
        "id": str(row.pk),
        "incident": row.incident.public_id,
        "acknowledgement": str(row.acknowledgement_id) if row.acknowledgement_id else None,
        "jurisdiction": row.jurisdiction_id,
        "body": row.body_id,
        "recipient": display_name(row.recipient),
        "channel": row.channel,
        "state": row.state,
        "at": at.astimezone(cluster_zone(row.incident.cluster_id)).isoformat(),
        "attempts": row.attempts,
        "error_kind": error_kind(row.error_code) if row.error_code and row.state == "failed" else None,
    }


def notification_event(row: Notification, *, state: str, at: datetime) -> None:
    """One event for `row` having reached `state` (sent, delivered, failed, opened,
    acknowledged) at `at`. Inside the transaction of the change."""
    notification_events([(row, at)], state=state)


def notification_events(rows: list[tuple[Notification, datetime]], *, state: str) -> None:
    """An event for each row having reached `state` at its moment, in one INSERT, the
    incidents' kept facts read once (a worker records a batch of sent messages together)."""
    if not rows:
        return
    kept = {facts.public_id: facts for facts in IncidentFacts.objects.filter(
        public_id__in={row.incident.public_id for row, _ in rows})}
    emit_events([(EVENTS[state], _subject(row, kept.get(row.incident.public_id)), payload(row, state=state, at=at))
                 for row, at in rows], at=max(at for _, at in rows))
