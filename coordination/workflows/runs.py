"""A run's lifecycle: started with its steps planned, moved through them one by one (each
finished step activates the next), completed when none is left, ended when its incident closes
or a coordinator cancels it.

The run's states and the moves between them are the table models.RUN_MOVES; `run_move` is the
one place a run's state changes, and says no (a Conflict) to a move the table does not allow.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction

from config.errors import Conflict
from coordination.audit import audit_record
from coordination.principals import Principal
from coordination.workflows import payloads
from coordination.workflows.definitions import duration_seconds, step_of
from coordination.workflows.events import emit, run_subject
from coordination.workflows.models import (
    RUN_MOVES,
    Acknowledgement,
    AckStatus,
    IncidentFacts,
    Playbook,
    RunState,
    StepRun,
    StepState,
    WorkflowRun,
    as_codes,
    from_codes,
)
from coordination.workflows.timeline import Note, timeline_note
from coordination.workflows.timers import scaled, schedule_step

ENGINE = "Liandong playbook engine"

UNFINISHED_STEP_STATES = frozenset({StepState.PLANNED, StepState.PENDING, StepState.WAITING})


def may_move(run: WorkflowRun, state: str) -> bool:
    return state in RUN_MOVES[run.state]


def run_move(run: WorkflowRun, state: str, **changes) -> None:
    """Move the run to `state` with the fields that go with the move (`finished_at`, …), or
    refuse with a Conflict naming the moves its state allows."""
    if not may_move(run, state):
        allowed = sorted(RUN_MOVES[run.state])
        raise Conflict(f"A {run.state} run cannot become {state}"
                       + (f"; it may become {', '.join(allowed)}." if allowed else "; it is final."),
                       state=run.state, allowed=allowed)
    run.state = state
    for name, value in changes.items():
        setattr(run, name, value)
    run.save(update_fields=["state", *changes])


def locked_run(run_id) -> WorkflowRun:
    return WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "incident", "playbook").get(pk=run_id)


def run_start(*, facts: IncidentFacts, playbook: Playbook, chain: dict, now: datetime) -> WorkflowRun | None:
    """A run of `playbook` for the incident, its steps planned and the first one due now.
    None when the incident already has one (the unique constraint decides a race)."""
    definition = playbook.definition
    try:
        with transaction.atomic():
            run = WorkflowRun.objects.create(
                incident=facts, playbook=playbook, playbook_version=playbook.version, definition=definition,
                chain=chain, started_at=now, concerned=facts.affected,
            )
    except IntegrityError:
        return None
    steps = StepRun.objects.bulk_create([
        StepRun(run=run, index=index, step_id=step["id"], kind=step["kind"])
        for index, step in enumerate(definition["steps"])
    ])
    emit("workflow.started", subject=run_subject(run),
         payload={**payloads.run_data(run), "steps": [step.kind for step in steps]})
    timeline_note(incident=facts.public_id, at=now,
                  note=Note("run.started", {"playbook": playbook.code, "version": playbook.version}))
    audit_record(actor=None, action="workflow.started", object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=facts.owner, detail={"playbook": playbook.code, "incident": facts.public_id})
    activate(run, steps[0], now)
    return run


# --- moving through the steps ------------------------------------------------------------------


def spec_of(run: WorkflowRun, step: StepRun):
    return step_of(run.definition["steps"][step.index])


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


def activate(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    """The run has reached `step`: due now, or after its wait."""
    spec = spec_of(run, step)
    due = now
    if spec.kind == "wait" and spec.duration is not None:
        due = now + scaled(duration_seconds(spec.duration))
    schedule_step(step, due_at=due, now=now)


def advance(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    """After a blocking step ended: the next planned step, or the end of the run."""
    following = next((row for row in steps_of(run) if row.index > step.index and row.state == StepState.PLANNED),
                     None)
    if following is not None:
        activate(run, following, now)
    else:
        complete_if_finished(run, now)


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


# --- how a run ends ------------------------------------------------------------------------------


def complete_if_finished(run: WorkflowRun, now: datetime) -> None:
    if not may_move(run, RunState.COMPLETED):
        return
    if any(row.state in UNFINISHED_STEP_STATES for row in steps_of(run)):
        return
    run_move(run, RunState.COMPLETED, finished_at=now)
    emit("workflow.completed", subject=run_subject(run), payload=payloads.run_data(run))
    timeline_note(incident=run.incident_id, at=now, note=Note("run.completed", {"playbook": run.playbook.code}))
    audit_record(actor=None, action="workflow.completed", object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner)


def run_end(run: WorkflowRun, *, reason: str | Note, by: str, now: datetime, actor: Principal | None = None) -> None:
    """Cancel a run: its steps still to come and its unanswered acknowledgements are cancelled.
    `reason`: an officer's words, or a Note (the run keeps its English as `ended_reason`)."""
    run_move(run, RunState.CANCELLED, finished_at=now, ended_reason=str(reason)[:200])
    run.steps.filter(state__in=[StepState.PLANNED, StepState.PENDING, StepState.WAITING, StepState.SKIPPED]).update(
        state=StepState.CANCELLED, token=None)
    run.__dict__.pop("_step_rows", None)
    Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING).update(
        status=AckStatus.CANCELLED, next_check_at=None, token=None)
    emit("workflow.cancelled", subject=run_subject(run), payload={**payloads.run_data(run), "by": by})
    timeline_note(incident=run.incident_id, at=now, actor=actor,
                  note=Note("run.stopped", {"playbook": run.playbook.code, "reason": reason}))
    audit_record(actor=actor, action="workflow.cancelled", object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner, detail={"reason": str(reason), "by": by})
