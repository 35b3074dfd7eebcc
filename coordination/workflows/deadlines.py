"""How a playbook deadline fires: start here.

A deadline is a row with a due time and a token, never a message in a queue, so a lost task, a
flushed Redis or a killed worker makes it late (by one sweep at most) but never lost, and
whatever delivers it twice acts on it once. In order:

1. **What falls due.** An acknowledgement request's deadline (`deadline[level]` of its
   request_ack step), then each escalation window after it (`escalation[level]`): both are
   `Acknowledgement.next_check_at`. A step's `due_at`: a wait's duration, a waiting step's
   timeout (a wait `until` with `timeout`, a publish_alert's `approval_timeout`), a failed
   step's retry, and, simply, a step the run has reached. Each is multiplied by DEADLINE_SCALE.
2. **Armed** (timers.py, below every step kind, since they all arm times): the time is written
   with a new token, and a countdown task carrying the token is sent after the commit when the
   time is within WORKFLOW_QUEUE_AHEAD_SECONDS. One further ahead is queued by the sweep when
   it comes near (`_queue_near`): Redis redelivers ETA tasks held past its visibility timeout.
3. **Fired.** The task (tasks.py) calls `step_execute` or `acknowledgement_check` here. A step's
   task whose token no longer matches is stale and exits; one acknowledgement task does every
   request of its run that is due (requests asked together share a deadline and one task).
4. **Acted on once**, in one transaction: lock the run (only a run whose clock runs acts,
   models.ACTIVE_RUN_STATES: a paused run's deadlines wait, and resuming moves them by the
   pause), claim the row with a conditional UPDATE on its state and token, write the effect
   and arm what follows. Two workers racing: the second's UPDATE waits for the first's commit
   and then matches nothing. A worker killed midway rolls everything back: the row is still
   due and is done again, once. What the effect is:
   - a pending step is performed (steps.perform); steps it makes due at once run in the same
     transaction (steps.steps_inline);
   - a waiting step's due time is its timeout (`_timed_out`): a wait ends timed out and the
     run goes on; an alert not approved in time lapses (the run went on when it was drafted);
   - each request still pending at its check is marked overdue (once), raises the next stage
     of its chain (escalation.escalate_acknowledgement) and is checked again one escalation
     window later, or never when the chain is done. An answer clears the check under the same
     row lock (services.acknowledgement_acknowledge), so an answered request never escalates;
   - a step that raised is retried with backoff and failed after WORKFLOW_STEP_MAX_ATTEMPTS
     (`_record_failure`); the run goes on.
5. **Drained.** Under load due work waits behind other work: a task that did its own also does
   the overdue work of a few runs nobody holds (`_drain`).
6. **Swept.** Beat's `sweep` (at most every 10 s) does every due row its task did not, reconciles
   runs behind their incident (reconcile.py), and queues what came near.
7. **Audited.** `audit` reports due work older than WORKFLOW_STALL_SECONDS, which only a sweep
   that is not running (or a step that keeps failing) leaves: an event and an error log line.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from coordination.workflows import payloads
from coordination.workflows.definitions import escalation_of
from coordination.workflows.escalation import escalate_acknowledgement
from coordination.workflows.events import ack_subject, emit, event_batch, events_batched, run_subject
from coordination.workflows.models import (
    ACTIVE_RUN_STATES,
    CLAIMABLE_STEP_STATES,
    LIVE_RUN_STATES,
    Acknowledgement,
    AckStatus,
    StepRun,
    StepState,
    WorkflowRun,
)
from coordination.workflows.reconcile import run_reconcile
from coordination.workflows.runs import adopt, advance, complete_if_finished, finish, locked_run, spec_of
from coordination.workflows.steps import perform, steps_inline
from coordination.workflows.timeline import Note, timeline_note
from coordination.workflows.timers import (
    CHECK_ACKNOWLEDGEMENT_TASK,
    EXECUTE_STEP_TASK,
    scaled,
    schedule_step,
    send_checks,
    send_task,
    set_check,
)

logger = logging.getLogger("liandong.workflows")

SWEEP_BATCH = 200

# A task that finished its own work takes over up to DRAIN_RUNS runs with work overdue by
# DRAIN_AFTER seconds (see _drain).
DRAIN_RUNS = 5
DRAIN_AFTER = 0.2

# What step_execute answers when it found nothing to do.
IDLE_OUTCOMES = frozenset({"gone", "stale", "not due", "not yet", "claimed elsewhere"})


# --- a step falls due ------------------------------------------------------------------------------


def step_execute(*, step_id: int, token: str | None, now: datetime | None = None) -> str:
    """Do one due step, once. Returns what happened (for logs and tests).

    `token` is the one the task was sent with (None: the sweep, which read the row's own).
    """
    now = now or timezone.now()
    step = StepRun.objects.filter(pk=step_id).first()
    if step is None:
        return "gone"
    if token is not None and str(step.token) != token:
        logger.info("step %s: stale task (token %s), skipped", step_id, token)
        return "stale"
    if step.state not in CLAIMABLE_STEP_STATES:
        return "not due"
    if step.due_at is None or step.due_at > now:
        return "not yet"
    try:
        with transaction.atomic(), events_batched():
            run = locked_run(step.run_id)
            if run.state not in ACTIVE_RUN_STATES:
                return f"run {run.state}"
            with steps_inline(run, now):
                if not _claim(step, now):
                    return "claimed elsewhere"
                outcome = _act(run, adopt(run, step), now)
            _drain(now, busy={run.pk})
            return outcome
    except Exception as exc:
        logger.exception("step %s failed", step_id)
        _record_failure(step_id=step_id, token=step.token, error=exc, now=now)
        return "error"


def _claim(step: StepRun, now: datetime) -> bool:
    """The claim: whoever changes the row first (state and token as read) owns the step; a
    racer's UPDATE waits for that commit and then matches nothing."""
    claimed = StepRun.objects.filter(
        pk=step.pk, token=step.token, state__in=CLAIMABLE_STEP_STATES, due_at__lte=now
    ).update(attempts=F("attempts") + 1, enqueued=False)
    if claimed:
        step.attempts, step.enqueued = step.attempts + 1, False
    return bool(claimed)


def _act(run: WorkflowRun, step: StepRun, now: datetime) -> str:
    """A claimed step's due time has come: a waiting step's is its timeout; a pending one is done."""
    if step.state == StepState.WAITING:
        return _timed_out(run, step, spec_of(run, step), now)
    return perform(run, step, now)


def _timed_out(run: WorkflowRun, step: StepRun, spec, now: datetime) -> str:
    if spec.kind == "publish_alert":
        return finish(run, step, now, state=StepState.DONE,
                      outcome={**step.outcome, "approved": False, "timed_out": True},
                      note=Note("step.alert_not_approved", {"step": step.step_id}), blocking=False)
    return finish(run, step, now, state=StepState.DONE, outcome={"timed_out": True},
                  note=Note("step.wait_timed_out", {"step": step.step_id}))


def _record_failure(*, step_id: int, token, error: Exception, now: datetime) -> None:
    """A step that raised: retried with backoff, failed (and the run moves on) after
    WORKFLOW_STEP_MAX_ATTEMPTS. Its effects rolled back with it."""
    with transaction.atomic(), events_batched():
        step = StepRun.objects.filter(pk=step_id).first()
        if step is None:
            return
        run = locked_run(step.run_id)
        claimed = StepRun.objects.filter(pk=step_id, token=token, state__in=CLAIMABLE_STEP_STATES).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000])
        if not claimed:
            return
        step.refresh_from_db()
        adopt(run, step)
        if step.attempts < settings.WORKFLOW_STEP_MAX_ATTEMPTS:
            backoff = settings.WORKFLOW_RETRY_BASE_SECONDS * 2 ** (step.attempts - 1)
            schedule_step(step, due_at=now + timedelta(seconds=backoff), now=now, state=step.state)
            return
        blocking = step.state == StepState.PENDING
        step.state, step.done_at, step.token = StepState.FAILED, now, None
        step.save(update_fields=["state", "done_at", "token"])
        emit("workflow.step_failed", subject=run_subject(run),
             payload=payloads.step_event(run, step, error=step.last_error))
        timeline_note(incident=run.incident_id, at=now, note=Note("step.failed", {
            "playbook": run.playbook.code, "step": step.step_id, "error": step.last_error}))
        if blocking:
            advance(run, step, now)
        else:
            complete_if_finished(run, now)


# --- an acknowledgement's deadline or escalation window passes ------------------------------------


def acknowledgement_check(*, acknowledgement_id: str, token: str | None, now: datetime | None = None) -> str:
    """A deadline (or the next escalation window) has come: every request of the run still
    unanswered at its deadline is marked overdue and raises the next stage of its chain, once.

    The task of one request does them all (send_checks sends one per deadline), so even a task
    whose own request was answered meanwhile (its token is stale) looks for the others.
    """
    now = now or timezone.now()
    row = Acknowledgement.objects.filter(pk=acknowledgement_id).values("run_id", "token", "next_check_at").first()
    if row is None:
        return "gone"
    own = token is None or str(row["token"]) == token
    if own and (row["next_check_at"] is None or row["next_check_at"] > now):
        return "not yet"
    with transaction.atomic(), events_batched():
        run = locked_run(row["run_id"])
        if run.state not in ACTIVE_RUN_STATES:
            return f"run {run.state}"
        escalated = _overdue_of(run, now)
        _drain(now, busy={run.pk})
    if escalated:
        return "escalated"
    if not own:
        logger.info("acknowledgement %s: stale task (token %s), nothing due", acknowledgement_id, token)
        return "stale"
    return "answered or claimed elsewhere"


def _overdue_of(run: WorkflowRun, now: datetime) -> list[Acknowledgement]:
    """Every request of a locked run still unanswered at its deadline, escalated."""
    due = list(Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING, next_check_at__lte=now)
               .order_by("jurisdiction_id").values_list("pk", "token"))
    escalated = [ack for pk, ack_token in due if (ack := _escalate_overdue(run, pk, ack_token, now))]
    send_checks(escalated)
    return escalated


def _escalate_overdue(run: WorkflowRun, acknowledgement_id, token, now: datetime) -> Acknowledgement | None:
    """One overdue request, claimed by a conditional UPDATE on its token: an answer (or another
    worker) that got there first makes the claim match nothing."""
    new_token = uuid.uuid4()
    claimed = Acknowledgement.objects.filter(
        pk=acknowledgement_id, token=token, status=AckStatus.PENDING, next_check_at__lte=now,
    ).update(token=new_token, enqueued=False)
    if not claimed:
        return None
    ack = Acknowledgement.objects.get(pk=acknowledgement_id)
    ack.incident, ack.token = run.incident, new_token
    if not ack.overdue:
        ack.overdue = True
        emit("acknowledgement.overdue", subject=ack_subject(ack, run), payload=payloads.acknowledgement_data(ack))
        timeline_note(incident=run.incident_id, at=now,
                      note=Note("ack.overdue", {"jurisdiction": ack.jurisdiction_id}))
    window = scaled(escalation_of(run.definition).seconds(ack.level))
    more = escalate_acknowledgement(run, ack, answer_by=now + window, now=now)
    set_check(ack, at=now + window if more else None, now=now)
    ack.save(update_fields=["overdue", "stage", "next_check_at", "token", "enqueued"])
    return ack


# --- drained, swept, audited -----------------------------------------------------------------------


def _steps_due_of(run: WorkflowRun, now: datetime) -> int:
    """Every step of a locked run due by now, claimed one by one."""
    done = 0
    with steps_inline(run, now):
        for step in StepRun.objects.filter(run=run, state__in=CLAIMABLE_STEP_STATES, due_at__lte=now):
            if _claim(step, now):
                _act(run, adopt(run, step), now)
                done += 1
    return done


def _drain(now: datetime, *, busy: set) -> int:
    """Under load, due work waits in the queue behind other work: a task that has done its own
    also does the work overdue by DRAIN_AFTER of up to DRAIN_RUNS runs that nobody holds
    (skip_locked: it never waits, so never deadlocks), in its own transaction, one savepoint
    per run. One commit and one dispatch request then carry many items, so a worker catches up
    faster the further behind it is; their own tasks find nothing left. Without a backlog
    nothing is overdue and this is two cheap queries."""
    late = now - timedelta(seconds=DRAIN_AFTER)
    candidates = list(dict.fromkeys([
        *StepRun.objects.filter(state__in=CLAIMABLE_STEP_STATES, due_at__lte=late, run__state__in=ACTIVE_RUN_STATES)
        .exclude(run_id__in=busy).order_by("due_at").values_list("run_id", flat=True)[:DRAIN_RUNS],
        *Acknowledgement.objects.filter(status=AckStatus.PENDING, next_check_at__lte=late,
                                        run__state__in=ACTIVE_RUN_STATES)
        .exclude(run_id__in=busy).order_by("next_check_at").values_list("run_id", flat=True)[:DRAIN_RUNS],
    ]))[:DRAIN_RUNS]
    if not candidates:
        return 0
    # The candidates nobody holds, locked in one statement (one trip, not one per run); each is
    # then done in candidate order.
    free = {run.pk: run for run in WorkflowRun.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("incident", "playbook").filter(pk__in=candidates, state__in=ACTIVE_RUN_STATES)}
    done = 0
    events = event_batch()
    for run_id in candidates:
        run = free.get(run_id)
        if run is None:
            continue
        busy.add(run.pk)
        mark = len(events) if events is not None else 0
        try:
            with transaction.atomic():
                done += _steps_due_of(run, now) + len(_overdue_of(run, now))
        except Exception:
            # Left to the run's own tasks (or the sweep), which record the failure where it belongs.
            logger.exception("run %s: draining its due work failed", run.pk)
            if events is not None:
                del events[mark:]
    return done


def sweep(*, now: datetime | None = None, budget_seconds: float | None = None) -> dict[str, int]:
    """Do every step and deadline that is due and was not done (its task lost, late or never
    sent), reconcile runs behind their incident, and queue work that came near. Bounded in
    time, so overlapping sweeps never pile up: the next one goes on where this one stopped."""
    budget = settings.WORKFLOW_SWEEP_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    counts = {"steps": 0, "acknowledgements": 0, "reconciled": 0, "queued": 0}

    def moment() -> datetime:
        return now or timezone.now()

    def out_of_time() -> bool:
        return time.monotonic() - started > budget

    while not out_of_time():
        cutoff = moment() - timedelta(seconds=settings.WORKFLOW_SWEEP_GRACE_SECONDS)
        steps = list(StepRun.objects.filter(state__in=CLAIMABLE_STEP_STATES, due_at__lte=cutoff,
                                            run__state__in=ACTIVE_RUN_STATES)
                     .order_by("due_at").values_list("pk", flat=True)[:SWEEP_BATCH])
        acks = list(Acknowledgement.objects.filter(status=AckStatus.PENDING, next_check_at__lte=cutoff,
                                                   run__state__in=ACTIVE_RUN_STATES)
                    .order_by("next_check_at").values_list("pk", flat=True)[:SWEEP_BATCH])
        if not steps and not acks:
            break
        for step_id in steps:
            if out_of_time():
                break
            if step_execute(step_id=step_id, token=None, now=moment()) not in IDLE_OUTCOMES:
                counts["steps"] += 1
        for ack_id in acks:
            if out_of_time():
                break
            try:
                if acknowledgement_check(acknowledgement_id=str(ack_id), token=None, now=moment()) == "escalated":
                    counts["acknowledgements"] += 1
            except Exception:
                logger.exception("acknowledgement %s: deadline check failed", ack_id)
        if len(steps) < SWEEP_BATCH and len(acks) < SWEEP_BATCH:
            break
    # Runs behind their incident's facts, and runs waiting for every acknowledgement that have
    # them all: the reconcile task their change requested may have been lost.
    answered = ~Exists(Acknowledgement.objects.filter(run=OuterRef("pk"), status=AckStatus.PENDING,
                                                      escalation_of__isnull=True))
    waiting = Exists(StepRun.objects.filter(run=OuterRef("pk"), state=StepState.WAITING, kind="wait",
                                            outcome__waiting_for__all_acknowledged=True))
    behind = WorkflowRun.objects.filter(state__in=LIVE_RUN_STATES).filter(
        Q(reconciled_version__lt=F("facts_version")) | (waiting & answered)
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    for run_id in list(behind):
        if out_of_time():
            break
        try:
            if run_reconcile(run_id=run_id, now=moment()) in ("reconciled", "ended"):
                counts["reconciled"] += 1
        except Exception:
            logger.exception("run %s: reconcile failed", run_id)
    counts["queued"] = _queue_near(moment())
    return counts


def _queue_near(now: datetime) -> int:
    """Send the countdown task of work that has come within WORKFLOW_QUEUE_AHEAD_SECONDS."""
    horizon = now + timedelta(seconds=settings.WORKFLOW_QUEUE_AHEAD_SECONDS)
    sent = 0
    for step_id, token, due_at in (StepRun.objects.filter(state__in=CLAIMABLE_STEP_STATES, enqueued=False,
                                                          due_at__gt=now, due_at__lte=horizon,
                                                          run__state__in=ACTIVE_RUN_STATES)
                                   .values_list("pk", "token", "due_at")[:SWEEP_BATCH]):
        with transaction.atomic():
            if StepRun.objects.filter(pk=step_id, token=token, enqueued=False).update(enqueued=True):
                send_task(EXECUTE_STEP_TASK, [step_id, str(token)], due_at=due_at, token=token)
                sent += 1
    for ack_id, token, due_at in (Acknowledgement.objects.filter(status=AckStatus.PENDING, enqueued=False,
                                                                 next_check_at__gt=now, next_check_at__lte=horizon,
                                                                 run__state__in=ACTIVE_RUN_STATES)
                                  .values_list("pk", "token", "next_check_at")[:SWEEP_BATCH]):
        with transaction.atomic():
            if Acknowledgement.objects.filter(pk=ack_id, token=token, enqueued=False).update(enqueued=True):
                send_task(CHECK_ACKNOWLEDGEMENT_TASK, [str(ack_id), str(token)], due_at=due_at, token=token)
                sent += 1
    return sent


def audit(*, now: datetime | None = None) -> list[str]:
    """Report runs with due work that did not happen for WORKFLOW_STALL_SECONDS: a
    `workflow.stalled` event once per stall and an error log line on every audit while it
    lasts. Returns the stalled runs' ids."""
    now = now or timezone.now()
    threshold = now - timedelta(seconds=settings.WORKFLOW_STALL_SECONDS)
    late_steps = StepRun.objects.filter(state__in=CLAIMABLE_STEP_STATES, due_at__lt=threshold,
                                        run__state__in=ACTIVE_RUN_STATES)
    late_acks = Acknowledgement.objects.filter(status=AckStatus.PENDING, next_check_at__lt=threshold,
                                               run__state__in=ACTIVE_RUN_STATES)
    stalled = set(late_steps.values_list("run_id", flat=True)) | set(late_acks.values_list("run_id", flat=True))
    WorkflowRun.objects.filter(stalled_reported_at__isnull=False).exclude(pk__in=stalled).update(
        stalled_reported_at=None)
    for run_id in sorted(stalled, key=str):
        steps = list(late_steps.filter(run_id=run_id).order_by("index"))
        acks = list(late_acks.filter(run_id=run_id).order_by("next_check_at"))
        logger.error("workflow run %s stalled: %d due step(s) and %d deadline(s) not acted on for over %ss "
                     "(is the worker or beat down?)", run_id, len(steps), len(acks), settings.WORKFLOW_STALL_SECONDS)
        with transaction.atomic():
            if not WorkflowRun.objects.filter(pk=run_id, stalled_reported_at__isnull=True).update(
                    stalled_reported_at=now):
                continue
            run = WorkflowRun.objects.select_related("incident", "playbook").get(pk=run_id)
            cluster = run.incident.cluster
            emit("workflow.stalled", subject=run_subject(run), payload={
                **payloads.run_data(run),
                "overdue_steps": [{"index": s.index, "kind": s.kind, "due_at": payloads.at(s.due_at, cluster)}
                                  for s in steps],
                "overdue_acknowledgements": [{"id": str(a.id), "jurisdiction": a.jurisdiction_id,
                                              "next_check_at": payloads.at(a.next_check_at, cluster)} for a in acks],
            })
    return [str(run_id) for run_id in stalled]
