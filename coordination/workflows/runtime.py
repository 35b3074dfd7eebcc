"""What all of a run's work shares: the transaction's batch of events, scheduling steps and
deadlines, the facts events are judged by, whom a step addresses, and how a step ends (the
next one begins, or the run completes).

engine.py drives runs (tasks, claims, the sweep); steps.py is what each kind of step does;
both build on this.
"""

import logging
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coordination.services import audit_record
from coordination.workflows import payloads
from coordination.workflows.definitions import duration_seconds, step_of
from coordination.workflows.models import (
    Acknowledgement,
    EscalationTarget,
    IncidentFacts,
    Meeting,
    RunState,
    StepRun,
    StepState,
    Task,
    WorkflowRun,
    as_codes,
    from_codes,
)
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import Subject, emit_event, emit_events
from sharing.events import validate_payload
from sharing.models import LEVEL_RANK, DataKind
from sharing.visibility import sharing_context

logger = logging.getLogger("liandong.workflows")

EXECUTE_STEP_TASK = "coordination.workflows.tasks.execute_step"
CHECK_ACKNOWLEDGEMENT_TASK = "coordination.workflows.tasks.check_acknowledgement"
RECONCILE_RUN_TASK = "coordination.workflows.tasks.reconcile_run"

# Runs that still act: a completed run keeps reaching newly affected jurisdictions and keeps
# escalating its unanswered acknowledgements; a paused or cancelled one does nothing.
ACTIVE_RUN_STATES = (RunState.RUNNING, RunState.COMPLETED)
LIVE_RUN_STATES = (RunState.RUNNING, RunState.PAUSED, RunState.COMPLETED)
ENGINE = "Liandong playbook engine"


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


# Steps that the work in hand makes due at once (the next step of a plan, a re-armed one) run
# in the same transaction, each in a savepoint, rather than through a task each: a burst of
# immediate steps is one commit and one dispatch request, not a dozen.
_inline: ContextVar[list | None] = ContextVar("workflow_inline_steps", default=None)
INLINE_STEPS = 25


def event_batch() -> list | None:
    """The events the transaction in hand has batched so far (None outside events_batched)."""
    return _batch.get()


@contextmanager
def steps_queued():
    """Steps made due at once inside the block are queued (yielded) instead of being sent a
    task; the caller runs them before its transaction commits (engine.steps_inline)."""
    token = _inline.set([])
    try:
        yield _inline.get()
    finally:
        _inline.reset(token)


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


def scaled(seconds: float) -> timedelta:
    """A playbook duration as it runs here (DEADLINE_SCALE: drills and tests run faster)."""
    return timedelta(seconds=seconds * settings.DEADLINE_SCALE)


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


def holds(condition: dict | None, facts: IncidentFacts) -> bool:
    """A step's `when` (or a wait's facts condition) against the incident as it is now."""
    if not condition:
        return True
    level = condition.get("level_at_least")
    if level and (not facts.level or LEVEL_RANK[facts.level] > LEVEL_RANK[level]):
        return False
    if condition.get("cross_border") is not None and facts.cross_border != condition["cross_border"]:
        return False
    if condition.get("min_affected") and len(facts.affected_codes) < condition["min_affected"]:
        return False
    statuses = condition.get("statuses")
    return not statuses or facts.status in statuses


def audience(names: Iterable[str], facts: IncidentFacts, chain: dict) -> set[str]:
    """Who a notify, request_ack or request_resources step addresses (definitions.Audience)."""
    ctx = sharing_context()
    affected = set(facts.affected_codes)
    found: set[str] = set()
    for name in names:
        if name == "affected":
            found |= affected
        elif name == "neighbours":
            for code in affected:
                found |= ctx.neighbours.get(code, frozenset()) - affected
        elif name == "core_cities":
            found |= ctx.cores.get(facts.cluster, frozenset())
        elif name == "cluster":
            found |= ctx.members.get(facts.cluster, frozenset())
        elif name == "circle_lead":
            found |= {lead for code in affected if (lead := chain.get("circle_leads", {}).get(code))}
    return found - {facts.owner, ""}


def chain_stages(chain: dict, code: str) -> list[tuple[str, str | None, str | None]]:
    """(target, jurisdiction, body) for each stage above `code`: its own duty officers, the
    lead city of its metropolitan circle (skipped when it is the lead or has no circle), the
    cluster committee."""
    stages: list[tuple[str, str | None, str | None]] = [(EscalationTarget.DUTY_OFFICERS, code, None)]
    lead = chain.get("circle_leads", {}).get(code)
    if lead and lead != code:
        stages.append((EscalationTarget.CIRCLE_LEAD, lead, None))
    committee = chain.get("committee")
    if committee:
        stages.append((EscalationTarget.COMMITTEE, committee.get("convener"), committee["code"]))
    return stages


def send_task(task: str, args: list, *, due_at: datetime | None, token: uuid.UUID) -> None:
    """Enqueue after commit. Never raises: with the broker down the row stays due and the
    sweep does it when the broker (or beat) is back."""

    def send():
        countdown = 0.0 if due_at is None else max(0.0, (due_at - timezone.now()).total_seconds())
        try:
            current_app.send_task(task, args=args, countdown=countdown, task_id=str(token))
        except Exception as exc:  # the row is the record; the sweep picks it up
            logger.warning("%s%s not enqueued (%s); the sweep will do it", task, args, exc)

    transaction.on_commit(send)


def _near(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and (due_at - now).total_seconds() <= settings.WORKFLOW_QUEUE_AHEAD_SECONDS


def schedule_step(step: StepRun, *, due_at: datetime | None, now: datetime, state: str = StepState.PENDING) -> None:
    """Make a step due at `due_at` (WAITING: waiting until then at most), with a new token.

    Inside steps_inline, a step due at once is not written as pending at all: it runs before
    the commit, in the same transaction, and is written once, when it is done.
    """
    step.state, step.due_at, step.token = state, due_at, uuid.uuid4()
    inline = _inline.get()
    if (inline is not None and len(inline) < INLINE_STEPS and state == StepState.PENDING
            and due_at is not None and due_at <= now):
        step.enqueued = False
        inline.append(step)
        return
    step.enqueued = _near(due_at, now)
    step.save(update_fields=["state", "due_at", "token", "enqueued", "outcome", "attempts"])
    if step.enqueued:
        send_task(EXECUTE_STEP_TASK, [step.pk, str(step.token)], due_at=due_at, token=step.token)


def schedule_check(ack: Acknowledgement, *, at: datetime | None, now: datetime) -> None:
    """Set an acknowledgement's next deadline check (None: no more) and queue its task."""
    set_check(ack, at=at, now=now)
    ack.save(update_fields=["next_check_at", "token", "enqueued"])
    send_checks([ack])


def set_check(ack: Acknowledgement, *, at: datetime | None, now: datetime) -> None:
    ack.next_check_at, ack.token = at, (uuid.uuid4() if at is not None else None)
    ack.enqueued = _near(at, now)


def send_checks(acks: Iterable[Acknowledgement]) -> None:
    """One task per deadline: requests asked together fall due together, and the task of one
    does every request of its run that is due (acknowledgement_check)."""
    sent = set()
    for ack in acks:
        if ack.enqueued and (ack.run_id, ack.next_check_at) not in sent:
            sent.add((ack.run_id, ack.next_check_at))
            send_task(CHECK_ACKNOWLEDGEMENT_TASK, [str(ack.pk), str(ack.token)], due_at=ack.next_check_at,
                      token=ack.token)


def request_reconcile(run_ids: Iterable) -> None:
    for run_id in {str(run_id) for run_id in run_ids}:
        send_task(RECONCILE_RUN_TASK, [run_id], due_at=None, token=uuid.uuid4())


def spec_of(run: WorkflowRun, step: StepRun):
    return step_of(run.definition["steps"][step.index])


def activate(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    """The run has reached `step`: due now, or after its wait."""
    spec = spec_of(run, step)
    due = now
    if spec.kind == "wait" and spec.duration is not None:
        due = now + scaled(duration_seconds(spec.duration))
    schedule_step(step, due_at=due, now=now)


def steps_of(run: WorkflowRun) -> list[StepRun]:
    """The run's steps, loaded once per transaction (the run's lock is held): every change to
    them in the transaction goes through these objects."""
    if "_step_rows" not in run.__dict__:
        run.__dict__["_step_rows"] = list(StepRun.objects.filter(run=run).order_by("index"))
    return run.__dict__["_step_rows"]


def adopt(run: WorkflowRun, step: StepRun) -> StepRun:
    """Make `step` (loaded on its own) the run's copy of it for the rest of the transaction."""
    rows = steps_of(run)
    rows[:] = [step if row.pk == step.pk else row for row in rows]
    return step


def advance(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    """After a blocking step ended: the next planned step, or the end of the run."""
    following = next((row for row in steps_of(run) if row.index > step.index and row.state == StepState.PLANNED),
                     None)
    if following is not None:
        activate(run, following, now)
    else:
        complete_if_finished(run, now)


UNFINISHED_STEP_STATES = frozenset({StepState.PLANNED, StepState.PENDING, StepState.WAITING})


def complete_if_finished(run: WorkflowRun, now: datetime) -> None:
    if run.state != RunState.RUNNING:
        return
    if any(row.state in UNFINISHED_STEP_STATES for row in steps_of(run)):
        return
    run.state, run.finished_at = RunState.COMPLETED, now
    run.save(update_fields=["state", "finished_at"])
    emit("workflow.completed", subject=run_subject(run), payload=payloads.run_data(run))
    timeline_note(incident=run.incident_id, at=now, note=Note("run.completed", {"playbook": run.playbook.code}))
    audit_record(actor=None, action="workflow.completed", object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner)


def locked_run(run_id) -> WorkflowRun:
    return WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "incident", "playbook").get(pk=run_id)


def finish(run: WorkflowRun, step: StepRun, now: datetime, *, state: str, outcome: dict, note: Note,
           concerned: Iterable[str] = (), blocking: bool = True) -> str:
    step.state, step.done_at, step.outcome, step.token = state, now, outcome, None
    step.covered_version = run.facts_version
    step.save(update_fields=["state", "due_at", "done_at", "outcome", "token", "enqueued", "attempts",
                             "covered_version"])
    name = "workflow.step_done" if state == StepState.DONE else "workflow.step_skipped"
    emit(name, subject=run_subject(run, concerned=concerned), payload=payloads.step_event(run, step))
    timeline_note(incident=run.incident_id, at=now, note=note.with_params(playbook=run.playbook.code))
    if blocking:
        advance(run, step, now)
    else:
        complete_if_finished(run, now)
    return state


def wait_for(run: WorkflowRun, step: StepRun, now: datetime, *, until: datetime | None, outcome: dict,
             concerned: Iterable[str] = ()) -> None:
    step.outcome = outcome
    schedule_step(step, due_at=until, now=now, state=StepState.WAITING)
    emit("workflow.step_waiting", subject=run_subject(run, concerned=concerned),
         payload=payloads.step_event(run, step))


def concern(run: WorkflowRun, codes: Iterable[str]) -> None:
    merged = as_codes({*from_codes(run.concerned), *codes})
    if merged != run.concerned:
        run.concerned = merged
        run.save(update_fields=["concerned"])


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
