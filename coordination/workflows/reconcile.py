"""Bringing a run up to date with the world around it.

Asked for (a reconcile task, sent after the commit) when the run's incident changed in a way
its steps depend on (level, affected jurisdictions, status: triggers.py bumps
`facts_version`), when the alert its publish_alert step drafted (or any alert about its
incident, issued by hand) was issued, when an
acknowledgement was answered (a wait for all of them), and when a paused run resumes. The
request is only a hint: the sweep (deadlines.py) reconciles every run behind its
`facts_version` whose task was lost.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coordination.workflows import payloads
from coordination.workflows.events import emit, events_batched, run_subject
from coordination.workflows.models import (
    ACTIVE_RUN_STATES,
    LIVE_RUN_STATES,
    Acknowledgement,
    AckStatus,
    StepRun,
    StepState,
    WorkflowRun,
)
from coordination.workflows.runs import ENGINE, concern, finish, locked_run, run_end, spec_of, steps_of
from coordination.workflows.steps import (
    addressees,
    alert_issued_by,
    alert_issued_by_hand,
    ask,
    drafts_discarded,
    holds,
    step_approve,
    step_satisfied_by,
    steps_inline,
    wait_condition_holds,
)
from coordination.workflows.timeline import Note, timeline_note
from coordination.workflows.timers import schedule_step, send_task
from incidents.lifecycle import CLOSED_STATUSES

RECONCILE_RUN_TASK = "coordination.workflows.tasks.reconcile_run"


def request_reconcile(run_ids: Iterable) -> None:
    for run_id in {str(run_id) for run_id in run_ids}:
        send_task(RECONCILE_RUN_TASK, [run_id], due_at=None, token=uuid.uuid4())


def run_reconcile(*, run_id, now: datetime | None = None) -> str:
    """Bring a run up to date with its incident: end it if the incident closed, reach newly
    affected jurisdictions with done notify and request_ack steps, re-arm skipped steps whose
    condition now holds, and finish waits whose condition holds. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic(), events_batched():
        try:
            run = locked_run(run_id)
        except WorkflowRun.DoesNotExist:
            return "gone"
        facts = run.incident
        if run.state not in LIVE_RUN_STATES:
            return run.state  # cancelled: nothing changes it any more
        if facts.status in CLOSED_STATUSES:
            _end_with_incident(run, now)
            return "ended"
        if run.state not in ACTIVE_RUN_STATES:
            return run.state  # paused: resuming asks for a reconcile
        with steps_inline(run, now):
            return _reconcile(run, now)


def _reconcile(run: WorkflowRun, now: datetime) -> str:
    facts = run.incident
    changed = False
    if run.reconciled_version < run.facts_version:
        changed = True
        for step in steps_of(run):
            if (step.state == StepState.DONE and step.kind in ("notify", "request_ack")
                    and step.covered_version < run.facts_version):
                _extend(run, step, now)
        for step in [row for row in steps_of(run) if row.state == StepState.SKIPPED]:
            spec = spec_of(run, step)
            if spec.when and holds(spec.when.model_dump(exclude_none=True), facts):
                schedule_step(step, due_at=now, now=now)
        run.reconciled_version = run.facts_version
        run.save(update_fields=["reconciled_version"])
    for step in [row for row in steps_of(run) if row.state == StepState.WAITING and row.kind == "publish_alert"]:
        issued = alert_issued_by(step.outcome.get("alert"))
        if issued is not None:
            step_approve(run=run, step=step, by=issued, alert=step.outcome["alert"], now=now)
            changed = True
        elif (by_hand := alert_issued_by_hand(run, step)) is not None:
            step_satisfied_by(run=run, step=step, alert=by_hand, now=now)
            changed = True
    for step in [row for row in steps_of(run) if row.state == StepState.WAITING and row.kind == "wait"]:
        spec = spec_of(run, step)
        if wait_condition_holds(run, spec.until.model_dump(exclude_none=True)):
            finish(run, step, now, state=StepState.DONE, outcome={"condition_met": True},
                   note=Note("step.condition_holds", {"step": step.step_id}))
            changed = True
    return "reconciled" if changed else "unchanged"


def _end_with_incident(run: WorkflowRun, now: datetime) -> None:
    """The incident closed or was cancelled: the run ends (run_end: its steps to come and its
    unanswered acknowledgements cancelled), its waiting alert drafts are discarded rather than
    left for someone to issue about an incident that is over, and the timeline says whose
    acknowledgements were withdrawn."""
    status = run.incident.status
    drafts_discarded(run, status=status, now=now)
    awaited = sorted(set(Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING)
                         .values_list("jurisdiction_id", flat=True)))
    run_end(run, reason=Note("reason.incident_status", {"status": status}), by=ENGINE, now=now)
    if awaited:
        timeline_note(incident=run.incident_id, at=now,
                      note=Note("run.acks_withdrawn", {"playbook": run.playbook.code, "jurisdictions": awaited}))


def _extend(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    """A done notify or request_ack step reaches the jurisdictions its audience gained."""
    spec = spec_of(run, step)
    key = "notified" if spec.kind == "notify" else "asked"
    codes = addressees(spec.to if spec.kind == "notify" else spec.from_, run.incident, run.chain)
    added = sorted(codes - set(step.outcome.get(key, [])))
    step.covered_version = run.facts_version
    if added:
        concern(run, added)
        step.outcome = {**step.outcome, key: sorted({*step.outcome.get(key, []), *added})}
        if spec.kind == "request_ack":
            asked = ask(run, step, spec, added, now)
            step.outcome["acknowledgements"] = [*step.outcome.get("acknowledgements", []),
                                                *(str(ack.id) for ack in asked)]
    step.save(update_fields=["outcome", "covered_version"])
    if added:
        emit("workflow.step_extended", subject=run_subject(run, concerned=added),
             payload=payloads.step_event(run, step, added=added))
        code = "run.extended_notified" if spec.kind == "notify" else "run.extended_asked"
        timeline_note(incident=run.incident_id, at=now,
                      note=Note(code, {"playbook": run.playbook.code, "jurisdictions": added}))
