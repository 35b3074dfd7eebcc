"""A coordinator's control of a workflow run (pause, resume, cancel) and a commander's approval
of a publish_alert step's draft. The run's state moves only through coordination.workflows.runs
(`run_move`, `run_end`), along the table models.RUN_MOVES; the engine's own moves start in
coordination.workflows.triggers and coordination.workflows.deadlines.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.principals import Principal, require
from coordination.roles import Action
from coordination.workflows import events, payloads, reconcile, runs, steps, timers
from coordination.workflows.contract import (
    RUN_CANCEL_REASON_MAX_LENGTH,
    text_checked,
)
from coordination.workflows.models import (
    ACTIVE_RUN_STATES,
    AckStatus,
    RunState,
    StepRun,
    StepState,
    WorkflowRun,
)
from coordination.workflows.selectors import (
    run_facts,
)
from coordination.workflows.services.lookup import parsed_id, visible_or_404
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import emit_event


def _controlled_run(actor: Principal, run_id) -> WorkflowRun:
    pk = parsed_id(run_id)
    run = WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "incident", "playbook").filter(pk=pk).first()
    if run is None:
        raise NotFound("No such workflow run.")
    visible_or_404(actor, run_facts(run))
    require(actor, Action.CONTROL_WORKFLOWS, "Only coordinators pause, resume and cancel workflow runs.")
    if run.incident.cluster not in actor.clusters:
        raise PermissionDenied(f"Coordinators of {', '.join(actor.clusters)} do not control runs in "
                               f"{run.incident.cluster or 'no cluster'}.")
    return run


def _run_changed(run: WorkflowRun, actor: Principal, name: str, note: str, now: datetime) -> None:
    emit_event(name, subject=events.run_subject(run), payload={**payloads.run_data(run), "by": actor.label})
    timeline_note(incident=run.incident_id, at=now, actor=actor,
                  note=Note(note, {"playbook": run.playbook.code, "by": actor.label}))
    audit_record(actor=actor, action=name, object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner, detail={"incident": run.incident_id})


def workflow_run_pause(*, actor: Principal, run_id) -> WorkflowRun:
    """Stop the clock: no step runs and no deadline escalates until the run is resumed."""
    now = timezone.now()
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.PAUSED:
            return run
        runs.run_move(run, RunState.PAUSED, paused_at=now)
        _run_changed(run, actor, "workflow.paused", "run.paused", now)
    return run


def workflow_run_resume(*, actor: Principal, run_id) -> WorkflowRun:
    """Start the clock again: every due time still ahead moves by the time spent paused."""
    now = timezone.now()
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.RUNNING:
            return run
        shift = now - (run.paused_at or now)
        runs.run_move(run, RunState.RUNNING, paused_at=None)
        for step in run.steps.filter(state__in=[StepState.PENDING, StepState.WAITING]):
            timers.schedule_step(step, due_at=step.due_at + shift if step.due_at else None, now=now,
                                 state=step.state)
        for ack in run.acknowledgements.filter(status=AckStatus.PENDING):
            if not ack.overdue:
                ack.due_at += shift
                ack.save(update_fields=["due_at"])
            timers.schedule_check(ack, at=ack.next_check_at + shift if ack.next_check_at else None, now=now)
        _run_changed(run, actor, "workflow.resumed", "run.resumed", now)
        reconcile.request_reconcile([run.id])
    return run


def workflow_run_cancel(*, actor: Principal, run_id, reason: str = "") -> WorkflowRun:
    now = timezone.now()
    reason = text_checked("reason", reason, limit=RUN_CANCEL_REASON_MAX_LENGTH, required=False)
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.CANCELLED:
            return run
        # The table lets a completed run be cancelled for what it still does (its unanswered
        # requests escalate); with none left there is nothing for a coordinator to stop.
        if run.state == RunState.COMPLETED and not run.acknowledgements.filter(status=AckStatus.PENDING).exists():
            raise Conflict("A completed run has nothing left to cancel.", state=run.state)
        runs.run_end(run, reason=reason or Note("reason.cancelled_by", {"by": actor.label}), by=actor.label, now=now,
                     actor=actor)
    return run


def workflow_step_approve(*, actor: Principal, run_id, step_index: int) -> StepRun:
    """A commander of the reporting jurisdiction approves a publish_alert step's alert."""
    now = timezone.now()
    with transaction.atomic():
        pk = parsed_id(run_id)
        run = WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
            "incident", "playbook").filter(pk=pk).first()
        if run is None:
            raise NotFound("No such workflow run.")
        visible_or_404(actor, run_facts(run))
        require(actor, Action.APPROVE_ALERT, "Only commanders approve alerts.")
        if actor.jurisdiction != run.incident.owner:
            raise PermissionDenied(f"Only {run.incident.owner}, the reporting jurisdiction, approves its alerts.")
        step = run.steps.filter(index=step_index).first()
        if step is None:
            raise NotFound("The run has no such step.")
        if step.kind != "publish_alert":
            raise ValidationFailed.on("step", f"Step {step_index} is a {step.kind} step, not publish_alert.")
        if step.state != StepState.WAITING:
            raise Conflict(f"Step {step_index} is {step.state}, not waiting for approval.", state=step.state)
        if run.state not in ACTIVE_RUN_STATES:
            raise Conflict(f"The run is {run.state}.", state=run.state)
        claimed = StepRun.objects.filter(pk=step.pk, state=StepState.WAITING, token=step.token).update(
            attempts=step.attempts + 1)
        if not claimed:
            raise Conflict("The step changed meanwhile; read it again.")
        step.refresh_from_db()
        alert = _alert_approve(actor, step.outcome.get("alert"))
        steps.step_approve(run=run, step=runs.adopt(run, step), by=actor.label, alert=alert, now=now)
        audit_record(actor=actor, action="workflow.alert_approved", object_type="workflow_run", object_id=str(run.id),
                     object_jurisdiction=run.incident.owner, detail={"step": step_index})
    return step


def _alert_approve(actor: Principal, alert_id: str | None) -> str | None:
    """Issue the step's draft through the alerts app (its rules, audit and `alert.issued`)."""
    from incidents.alerts.issuing import alert_approve
    from incidents.alerts.models import AlertState

    if not alert_id:
        return None
    alert = alert_approve(actor=actor, alert_id=alert_id)
    return str(alert.pk) if alert.state != AlertState.DRAFT else None
