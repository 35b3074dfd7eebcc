"""The engine's side of the event log: the events of one engine transaction, written together,
and the subject each is judged by (its incident's facts and whoever it addresses).

People's writes (services.py) emit one event each through sharing.eventlog.emit_event; one
engine transaction can emit a dozen (a burst of steps done inline), so inside
`events_batched` they are checked at once and written in one INSERT at the end.
"""

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar

from coordination.workflows.models import Acknowledgement, IncidentFacts, Meeting, Task, WorkflowRun, from_codes
from sharing.eventlog import Subject, emit_event, emit_events
from sharing.events import validate_payload
from sharing.models import DataKind

# Events of one engine transaction, written together at its end: one INSERT for the dozen
# events a burst of steps can write, rather than one each.
_batch: ContextVar[list | None] = ContextVar("workflow_event_batch", default=None)


def emit(name: str, *, subject: Subject, payload: dict) -> None:
    """emit_event, batched when inside `events_batched` (checked against its schema at once)."""
    batch = _batch.get()
    if batch is None:
        emit_event(name, subject=subject, payload=payload)
        return
    validate_payload(name, payload)
    batch.append((name, subject, payload))


def event_batch() -> list | None:
    """The events the transaction in hand has batched so far (None outside events_batched)."""
    return _batch.get()


@contextmanager
def events_batched():
    """Use inside the transaction: its events are written when the block ends without error."""
    token = _batch.set([])
    try:
        yield
        if batch := _batch.get():
            emit_events(batch)
    finally:
        _batch.reset(token)


def subject(facts: IncidentFacts, *, type: str, id: str, concerned: Iterable[str] = ()) -> Subject:
    """An event about something of this incident: judged by the incident's facts, concerning
    its affected jurisdictions and whoever the thing addresses."""
    return Subject(
        type=type, id=id, cluster=facts.cluster, owner=facts.owner,
        jurisdictions=sorted({*facts.affected_codes, *concerned}), level=facts.level, category=facts.category,
        data_kind=DataKind.INCIDENTS, exercise=facts.exercise,
    )


def run_subject(run: WorkflowRun, *, concerned: Iterable[str] = ()) -> Subject:
    return subject(run.incident, type="workflow_run", id=str(run.id),
                   concerned={*from_codes(run.concerned), *concerned})


def ack_subject(ack: Acknowledgement, run: WorkflowRun) -> Subject:
    return subject(run.incident, type="acknowledgement", id=str(ack.id),
                   concerned={ack.jurisdiction_id, *from_codes(run.concerned)})


def task_subject(task: Task) -> Subject:
    command = task.joint_command
    concerned = {task.assignee_id, *(command.participant_codes if command else ())}
    return subject(task.incident, type="task", id=str(task.id), concerned=concerned)


def meeting_subject(meeting: Meeting) -> Subject:
    return Subject(type="meeting", id=str(meeting.id), cluster=meeting.cluster, owner=meeting.convener_id,
                   jurisdictions=meeting.participant_codes, level=meeting.level, category=meeting.category,
                   data_kind=DataKind.INCIDENTS, exercise=meeting.exercise)
