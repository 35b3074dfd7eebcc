"""The playbook engine: starts runs from incident events, executes their steps, watches
acknowledgement deadlines and escalates, and sweeps for whatever a lost task left undone.

How work happens, and why it never happens twice:

1. `on_events` is a deliverer of the event dispatcher (sharing.dispatch): it receives
   incident events in seq order, keeps the incident's facts (IncidentFacts), starts a run per
   matching playbook (a unique constraint makes re-triggering a no-op) and marks runs whose
   facts changed. It only writes rows and enqueues tasks after the commit.
2. Every piece of due work is a row with a due time and a token: a step (StepRun) or an
   acknowledgement's next deadline (Acknowledgement.next_check_at). A countdown task carrying
   the token is sent when the row is scheduled (or, for one far ahead, by the sweep when it
   comes near). A task whose token no longer matches exits.
3. Doing the work is one transaction: lock the run, claim the row with a conditional UPDATE
   (state and token as read), write the effect (its rows, its events, its timeline entry) and
   the next schedule. Two workers racing for a row: the second's UPDATE waits for the first's
   commit and then matches nothing. A worker killed mid-way rolls everything back, so the row
   is still due and is done again, once.
4. `sweep` (beat, at most every 10 s) does every due row its task did not do: lost with the
   broker, a flushed Redis, a killed worker. `audit` reports due work older than
   WORKFLOW_STALL_SECONDS, which only a sweep that is not running (or a step that keeps
   failing) leaves behind: an event and an error log line, so a silent failure is seen.
"""

import logging
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from coordination.models import CoordinationBody, CoordinationBodyKind, Jurisdiction
from coordination.principals import Principal
from coordination.services import audit_record
from coordination.workflows import payloads
from coordination.workflows.definitions import escalation_of
from coordination.workflows.models import (
    CLAIMABLE_STEP_STATES,
    Acknowledgement,
    AckStatus,
    EscalationTarget,
    IncidentFacts,
    Playbook,
    RunState,
    StepRun,
    StepState,
    WorkflowRun,
    as_codes,
)
from coordination.workflows.runtime import (
    ACTIVE_RUN_STATES,
    CHECK_ACKNOWLEDGEMENT_TASK,
    ENGINE,
    EXECUTE_STEP_TASK,
    LIVE_RUN_STATES,
    ack_subject,
    activate,
    adopt,
    advance,
    audience,
    chain_stages,
    complete_if_finished,
    concern,
    emit,
    event_batch,
    events_batched,
    finish,
    holds,
    locked_run,
    request_reconcile,
    run_subject,
    scaled,
    schedule_step,
    send_checks,
    send_task,
    set_check,
    spec_of,
    steps_of,
    steps_queued,
)
from coordination.workflows.steps import (
    PERFORMERS,
    alert_issued_by,
    ask,
    raise_escalation,
    step_approve,
    wait_condition_holds,
)
from coordination.workflows.timeline import Note, timeline_note

logger = logging.getLogger("liandong.workflows")

INCIDENT_EVENTS = frozenset({"incident.created", "incident.updated", "incident.status_changed"})


# An alert a publish_alert step drafted may be approved through the alerts API too.
ALERT_ISSUED = "alert.issued"


CLOSED_STATUSES = frozenset({"closed", "cancelled"})


SWEEP_BATCH = 200


# A task that finished its own work takes over up to DRAIN_RUNS runs with work overdue by
# DRAIN_AFTER seconds (see _drain).
DRAIN_RUNS = 5


DRAIN_AFTER = 0.2


# What step_execute answers when it found nothing to do.
IDLE_OUTCOMES = frozenset({"gone", "stale", "not due", "not yet", "claimed elsewhere"})


def trigger_matches(trigger: dict, facts: IncidentFacts) -> bool:
    if facts.status in CLOSED_STATUSES or not facts.level:
        return False
    if trigger.get("categories") and facts.category not in trigger["categories"]:
        return False
    if trigger.get("types") and facts.type not in trigger["types"]:
        return False
    if trigger.get("clusters") and facts.cluster not in trigger["clusters"]:
        return False
    return holds({"level_at_least": trigger.get("level_at_least", "IV"), "cross_border": trigger.get("cross_border"),
                  "min_affected": trigger.get("min_affected", 1)}, facts)


def freeze_chain(cluster: str) -> dict:
    """The escalation chain in force for a cluster: each member's circle lead, and the
    committee. Frozen onto a run when it starts (later registry edits do not change it)."""
    leads = dict(Jurisdiction.objects.filter(clusters=cluster).values_list("code", "circle__lead_id"))
    committee = (CoordinationBody.objects.filter(cluster_id=cluster, kind=CoordinationBodyKind.COMMITTEE)
                 .order_by("code").first())
    return {
        "cluster": cluster,
        "circle_leads": {code: lead for code, lead in sorted(leads.items())},
        "committee": None if committee is None else {
            "code": committee.code,
            "convener": committee.convener_id,
            "members": sorted(committee.members.values_list("code", flat=True)),
        },
    }


@contextmanager
def steps_inline(run: WorkflowRun, now: datetime):
    """Run the steps the block makes due at once, before the transaction commits."""
    with steps_queued() as queue:
        yield
        _run_inline(run, now, queue)


def _run_inline(run: WorkflowRun, now: datetime, queue: list[StepRun]) -> None:
    """Run the queued steps. No claim is needed: this transaction made them due and holds the
    run's lock, which every writer of a run's steps takes first."""
    events = event_batch()
    while queue:
        step = queue.pop(0)
        marks = (len(queue), len(events) if events is not None else 0)
        try:
            with transaction.atomic():
                step.attempts += 1
                _perform(run, step, now)
        except Exception:
            # Undo what the failed step queued and emitted, and leave it to a task of its own,
            # which records the failure against it (and retries it) as usual.
            logger.exception("step %s failed (inline); handing it to its own task", step.pk)
            del queue[marks[0]:]
            if events is not None:
                del events[marks[1]:]
            run.refresh_from_db()
            run.__dict__.pop("_step_rows", None)
            StepRun.objects.filter(pk=step.pk).update(state=StepState.PENDING, due_at=now, token=step.token,
                                                      enqueued=True)
            send_task(EXECUTE_STEP_TASK, [step.pk, str(step.token)], due_at=now, token=step.token)


def _claim(step: StepRun, now: datetime) -> bool:
    """The claim: whoever changes the row first (state and token as read) owns the step; a
    racer's UPDATE waits for that commit and then matches nothing."""
    claimed = StepRun.objects.filter(
        pk=step.pk, token=step.token, state__in=CLAIMABLE_STEP_STATES, due_at__lte=now
    ).update(attempts=F("attempts") + 1, enqueued=False)
    if claimed:
        step.attempts, step.enqueued = step.attempts + 1, False
    return bool(claimed)


def on_events(events: list) -> None:
    """Deliverer for sharing.dispatch: react to incident events (created, updated, status changed).

    Runs inside the dispatch transaction and may see a batch again (a dispatcher killed
    before its commit): facts are applied newest-version-wins and runs are unique per
    incident and playbook, so a second delivery changes nothing. One event that cannot be
    applied is logged and skipped, never allowed to stop the dispatch of everything else.
    """
    _alerts_issued([event.payload["id"] for event in events if event.name == ALERT_ISSUED])
    relevant = [event for event in events if event.name in INCIDENT_EVENTS]
    if not relevant:
        return
    playbooks = list(Playbook.objects.filter(is_active=True).order_by("code"))
    chains: dict[str, dict] = {}
    for event in relevant:
        try:
            with transaction.atomic(), events_batched():
                _apply_incident_event(event, playbooks=playbooks, chains=chains)
        except Exception:
            logger.exception("playbook engine could not apply %s #%s (%s)", event.name, event.seq, event.subject_id)


def _alerts_issued(alert_ids: list[str]) -> None:
    """Runs whose waiting publish_alert step drafted one of these alerts are reconciled (the
    version bump keeps that durable: the sweep reconciles runs behind their version)."""
    if not alert_ids:
        return
    runs = set(StepRun.objects.filter(kind="publish_alert", state=StepState.WAITING, outcome__alert__in=alert_ids)
               .values_list("run_id", flat=True))
    if runs:
        WorkflowRun.objects.filter(pk__in=runs).update(facts_version=F("facts_version") + 1)
        request_reconcile(runs)


def _facts_from(event, current: IncidentFacts | None) -> dict:
    data = event.payload
    values = {
        "title": data.get("title", current.title if current else ""),
        "category": data.get("category", current.category if current else event.category),
        "level": data.get("level", current.level if current else event.level),
        "status": data.get("status", current.status if current else ""),
        "exercise": bool(data.get("exercise", current.exercise if current else event.exercise)),
        "version": int(data.get("version", 0)),
    }
    if event.name == "incident.status_changed":
        values.update(
            cluster=current.cluster if current else event.cluster,
            owner=current.owner if current else event.owner,
            type=current.type if current else "",
            cross_border=current.cross_border if current else len(event.jurisdiction_codes) > 1,
            affected=current.affected if current else as_codes(event.jurisdiction_codes),
        )
    else:
        values.update(
            cluster=data.get("cluster") or event.cluster, owner=data["reporting_jurisdiction"], type=data["type"],
            cross_border=bool(data["cross_border"]), affected=as_codes(data["affected_jurisdictions"]),
        )
    return values


def _apply_incident_event(event, *, playbooks: list[Playbook], chains: dict[str, dict]) -> None:
    public_id = event.payload["id"]
    now = timezone.now()
    facts = IncidentFacts.objects.select_for_update(no_key=True).filter(pk=public_id).first()
    values = _facts_from(event, facts)
    if facts is not None and facts.version >= values["version"]:
        return  # seen already (a redelivery), or older than what we know
    if facts is None:
        facts = IncidentFacts.objects.create(public_id=public_id, updated_at=now, **values)
        started = set()  # an incident new to the engine has no runs to look up or to tell
    else:
        changed = any(getattr(facts, name) != values[name] for name in ("level", "affected", "status", "cross_border"))
        for name, value in values.items():
            setattr(facts, name, value)
        facts.updated_at = now
        facts.save()
        if changed:
            bumped = list(WorkflowRun.objects.filter(incident=facts, state__in=LIVE_RUN_STATES)
                          .values_list("id", flat=True))
            if bumped:
                WorkflowRun.objects.filter(id__in=bumped).update(facts_version=F("facts_version") + 1)
                request_reconcile(bumped)
        started = set(WorkflowRun.objects.filter(incident=facts).values_list("playbook_id", flat=True))
    for playbook in playbooks:
        if playbook.pk not in started and trigger_matches(playbook.definition["trigger"], facts):
            if facts.cluster not in chains:
                chains[facts.cluster] = freeze_chain(facts.cluster)
            run_start(facts=facts, playbook=playbook, chain=chains[facts.cluster], now=now)


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
                outcome = _perform(run, adopt(run, step), now)
            _drain(now, busy={run.pk})
            return outcome
    except Exception as exc:
        logger.exception("step %s failed", step_id)
        _record_failure(step_id=step_id, token=step.token, error=exc, now=now)
        return "error"


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


def _perform(run: WorkflowRun, step: StepRun, now: datetime) -> str:
    spec = spec_of(run, step)
    facts = run.incident
    if step.state == StepState.WAITING:
        return _timed_out(run, step, spec, now)
    if not holds(spec.when.model_dump(exclude_none=True) if spec.when else None, facts):
        return finish(run, step, now, state=StepState.SKIPPED,
                      outcome={"reason": "condition not met", "level": facts.level},
                      note=Note("step.skipped", {"step": step.step_id}))
    return PERFORMERS[spec.kind](run, step, spec, now)


def _timed_out(run: WorkflowRun, step: StepRun, spec, now: datetime) -> str:
    if spec.kind == "publish_alert":
        return finish(run, step, now, state=StepState.DONE,
                      outcome={**step.outcome, "approved": False, "timed_out": True},
                      note=Note("step.alert_not_approved", {"step": step.step_id}), blocking=False)
    return finish(run, step, now, state=StepState.DONE, outcome={"timed_out": True},
                  note=Note("step.wait_timed_out", {"step": step.step_id}))


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


def _steps_due_of(run: WorkflowRun, now: datetime) -> int:
    """Every step of a locked run due by now, claimed one by one."""
    done = 0
    with steps_inline(run, now):
        for step in StepRun.objects.filter(run=run, state__in=CLAIMABLE_STEP_STATES, due_at__lte=now):
            if _claim(step, now):
                _perform(run, adopt(run, step), now)
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
    done = 0
    events = event_batch()
    for run_id in candidates:
        run = (WorkflowRun.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
               .select_related("incident", "playbook").filter(pk=run_id, state__in=ACTIVE_RUN_STATES).first())
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
    stages = chain_stages(run.chain, ack.jurisdiction_id)
    window = scaled(escalation_of(run.definition).seconds(ack.level))
    if ack.stage < len(stages):
        target, jurisdiction, body = stages[ack.stage]
        ack.stage += 1
        raise_escalation(run=run, stage=ack.stage, target=target, jurisdiction=jurisdiction, body=body,
                         subject_jurisdiction=ack.jurisdiction_id, acknowledgement=ack, now=now,
                         reason=Note("reason.not_acknowledged", {
                             "jurisdiction": ack.jurisdiction_id,
                             "asked_at": payloads.at(ack.requested_at, run.incident.cluster)}))
        if target != EscalationTarget.DUTY_OFFICERS and jurisdiction and jurisdiction != ack.jurisdiction_id:
            _ask_escalation_target(run, ack, jurisdiction, due=now + window, now=now)
    set_check(ack, at=now + window if ack.stage < len(stages) else None, now=now)
    ack.save(update_fields=["overdue", "stage", "next_check_at", "token", "enqueued"])
    return ack


def _ask_escalation_target(run: WorkflowRun, ack: Acknowledgement, code: str, *, due: datetime,
                           now: datetime) -> None:
    if Acknowledgement.objects.filter(escalation_of=ack, jurisdiction_id=code).exists():
        return
    child = Acknowledgement.objects.create(run=run, step=ack.step, incident=run.incident, jurisdiction_id=code,
                                           escalation_of=ack, level=ack.level, requested_at=now, due_at=due)
    emit("acknowledgement.requested", subject=ack_subject(child, run),
         payload=payloads.acknowledgement_data(child))


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
        if run.state == RunState.CANCELLED:
            return "cancelled"
        if facts.status in CLOSED_STATUSES:
            run_end(run, state=RunState.CANCELLED, reason=Note("reason.incident_status", {"status": facts.status}),
                    by=ENGINE, now=now)
            return "ended"
        if run.state == RunState.PAUSED:
            return "paused"
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
    for step in [row for row in steps_of(run) if row.state == StepState.WAITING and row.kind == "wait"]:
        spec = spec_of(run, step)
        if wait_condition_holds(run, spec.until.model_dump(exclude_none=True)):
            finish(run, step, now, state=StepState.DONE, outcome={"condition_met": True},
                   note=Note("step.condition_holds", {"step": step.step_id}))
            changed = True
    return "reconciled" if changed else "unchanged"


def _extend(run: WorkflowRun, step: StepRun, now: datetime) -> None:
    spec = spec_of(run, step)
    key = "notified" if spec.kind == "notify" else "asked"
    codes = audience(spec.to if spec.kind == "notify" else spec.from_, run.incident, run.chain)
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


def run_end(run: WorkflowRun, *, state: str, reason: str | Note, by: str, now: datetime,
            actor: Principal | None = None) -> None:
    """Stop a run: its steps still to come and its unanswered acknowledgements are cancelled.
    `reason`: an officer's words, or a Note (the run keeps its English as `ended_reason`)."""
    run.steps.filter(state__in=[StepState.PLANNED, StepState.PENDING, StepState.WAITING, StepState.SKIPPED]).update(
        state=StepState.CANCELLED, token=None)
    run.__dict__.pop("_step_rows", None)
    Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING).update(
        status=AckStatus.CANCELLED, next_check_at=None, token=None)
    run.state, run.finished_at, run.ended_reason = state, now, str(reason)[:200]
    run.save(update_fields=["state", "finished_at", "ended_reason"])
    emit("workflow.cancelled", subject=run_subject(run), payload={**payloads.run_data(run), "by": by})
    timeline_note(incident=run.incident_id, at=now, actor=actor,
                  note=Note("run.stopped", {"playbook": run.playbook.code, "reason": reason}))
    audit_record(actor=actor, action="workflow.cancelled", object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner, detail={"reason": str(reason), "by": by})


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
