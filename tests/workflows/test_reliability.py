"""The engine with real Celery worker processes on PostgreSQL and Redis: killed workers, a
flushed Redis, racing workers, deadlines at the edge, and the auditor.

Every test runs the default flood playbook on typhoons reported by Zhuhai (level II, touching
Zhongshan and Macao) with DEADLINE_SCALE small, so a run takes about 15 seconds: nobody
acknowledges unless the test does, so each run also escalates along its chain.
"""

import collections
import signal
import time

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
    Escalation,
    EscalationTarget,
    RunState,
    StepRun,
    StepState,
    WorkflowRun,
)
from sharing.models import Event
from tests.conftest import MACAO, ZHONGSHAN
from tests.workflows.conftest import deliver, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.fault]

FINISHED = (StepState.DONE, StepState.SKIPPED, StepState.FAILED)
# Per run, nobody acknowledging: Macao escalates to its duty officers, then the committee (it
# is in no metropolitan circle); Zhongshan to its duty officers, then the committee (Zhuhai,
# its circle's lead city, reported the typhoon: it is never asked in Zhongshan's place).
ESCALATIONS_PER_RUN = 4


def start_runs(report, count: int) -> list[str]:
    incidents = [report(title=f"Typhoon {n}").public_id for n in range(count)]
    deliver()
    return incidents


def runs_completed(count: int):
    return lambda: WorkflowRun.objects.filter(state=RunState.COMPLETED).count() == count


def escalations_done(count: int):
    return lambda: Escalation.objects.count() == count * ESCALATIONS_PER_RUN


def assert_each_happened_once(count: int) -> None:
    """Every step of every run finished exactly once in effect: one event per step, one
    acknowledgement request and one escalation per stage, each with its one event."""
    steps = StepRun.objects.filter(run__state=RunState.COMPLETED)
    assert steps.count() == count * 9
    assert set(steps.values_list("state", flat=True)) <= set(FINISHED)
    per_step = collections.Counter(
        (e.payload["run"], e.payload["step"]["index"])
        for e in Event.objects.filter(name__in=["workflow.step_done", "workflow.step_skipped"]))
    assert len(per_step) == count * 9 and set(per_step.values()) == {1}, per_step.most_common(3)
    assert Event.objects.filter(name="workflow.started").count() == count
    assert Event.objects.filter(name="workflow.completed").count() == count
    # One request event per acknowledgement, and one more for each request escalated to the
    # committee (`for_body`: the body's officers are now asked too), each once.
    requested = collections.Counter(
        (e.payload["id"], e.payload.get("for_body")) for e in Event.objects.filter(name="acknowledgement.requested"))
    assert set(requested.values()) == {1}, requested.most_common(3)
    assert sum(1 for _, body in requested if body is None) == Acknowledgement.objects.count()
    assert sum(1 for _, body in requested if body) == Escalation.objects.filter(
        target=EscalationTarget.COMMITTEE, target_body__isnull=False).count()
    assert Acknowledgement.objects.filter(escalation_of__isnull=True).count() == count * 2
    assert Event.objects.filter(name="escalation.raised").count() == Escalation.objects.count() \
        == count * ESCALATIONS_PER_RUN
    assert Event.objects.filter(name="acknowledgement.overdue").count() == count * 2
    raised = collections.Counter(Escalation.objects.values_list("acknowledgement_id", "stage"))
    assert set(raised.values()) == {1}


def test_a_worker_killed_mid_run_loses_no_step_and_repeats_none(playbooks, report, workers):
    workers.start("a")
    incidents = start_runs(report, 8)
    wait_for(lambda: Event.objects.filter(name="escalation.raised").count() >= 4, timeout=60,
             what="the runs to be half-way", workers=workers)
    assert WorkflowRun.objects.filter(state=RunState.COMPLETED).count() < len(incidents)
    workers.kill("a", signal.SIGKILL)
    workers.start("b")
    wait_for(runs_completed(len(incidents)), timeout=90, what="every run to complete", workers=workers)
    wait_for(escalations_done(len(incidents)), timeout=30, what="every escalation", workers=workers)
    assert_each_happened_once(len(incidents))


def test_the_sweep_recovers_every_step_after_redis_is_flushed(playbooks, report, workers, redis_url):
    broker = redis.Redis.from_url(redis_url)
    incidents = start_runs(report, 5)  # no worker yet: the first steps' tasks wait in Redis
    assert broker.llen("celery") > 0
    broker.flushdb()  # ... and are gone
    workers.start("a")
    wait_for(lambda: Acknowledgement.objects.count() >= 2 * len(incidents), timeout=60,
             what="the sweep to run the lost first steps", workers=workers)
    broker.flushdb()  # again, mid-run: the countdowns of deadlines and waits are lost too
    wait_for(runs_completed(len(incidents)), timeout=90, what="every run to complete", workers=workers)
    wait_for(escalations_done(len(incidents)), timeout=30, what="every escalation", workers=workers)
    assert_each_happened_once(len(incidents))
    broker.close()


def test_an_unanswered_deadline_escalates_within_the_sweep_interval_and_an_answered_one_not(
        playbooks, report, workers, redis_url, principal_for, settings):
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

    settings.DEADLINE_SCALE = 0.01  # a 30-minute deadline is 18 s: time to lose its countdown task
    zhongshan_officer = principal_for(ZHONGSHAN, role="operator")
    workers.start("a", DEADLINE_SCALE="0.01")
    (incident,) = start_runs(report, 1)
    asked = wait_for(lambda: list(Acknowledgement.objects.filter(incident_id=incident)), timeout=30,
                     what="the acknowledgement requests", workers=workers)
    # The countdown tasks of both deadlines die with the worker and the flushed broker: only
    # the sweep of the worker started next can keep them.
    workers.kill("a")
    redis.Redis.from_url(redis_url).flushdb()
    workers.start("b", DEADLINE_SCALE="0.01")
    zhongshan = next(ack for ack in asked if ack.jurisdiction_id == ZHONGSHAN)
    macao = next(ack for ack in asked if ack.jurisdiction_id == MACAO)
    time.sleep(max(0.0, (zhongshan.due_at - timezone.now()).total_seconds() - 0.5))
    acknowledgement_acknowledge(actor=zhongshan_officer, acknowledgement_id=zhongshan.id)
    first = wait_for(lambda: Escalation.objects.filter(acknowledgement=macao).first(), timeout=30,
                     what="Macao's escalation", workers=workers)
    lateness = (first.raised_at - macao.due_at).total_seconds()
    # WORKFLOW_SWEEP_SECONDS=1 in the workers, after a grace of 0.5 s for the countdown task.
    assert 0 <= lateness < 1.0 + 0.5 + 1.0, lateness
    zhongshan.refresh_from_db()
    assert zhongshan.status == AckStatus.ACKNOWLEDGED and zhongshan.acknowledged_at < zhongshan.due_at
    time.sleep(1.5)  # two more sweeps past Zhongshan's deadline
    assert not Escalation.objects.filter(acknowledgement=zhongshan).exists()
    assert not zhongshan.escalations.exists()


def test_two_workers_never_run_a_step_twice(playbooks, report, workers):
    # No grace: each worker's sweep races the countdown tasks for every due row.
    workers.start("a", WORKFLOW_SWEEP_GRACE_SECONDS="0")
    workers.start("b", beat=False, WORKFLOW_SWEEP_GRACE_SECONDS="0")
    workers.start("c", WORKFLOW_SWEEP_GRACE_SECONDS="0")  # a second beat: two sweeps at once
    incidents = start_runs(report, 12)
    wait_for(runs_completed(len(incidents)), timeout=120, what="every run to complete", workers=workers)
    wait_for(escalations_done(len(incidents)), timeout=30, what="every escalation", workers=workers)
    assert_each_happened_once(len(incidents))


def test_the_auditor_reports_a_silent_failure(playbooks, report, workers, redis_url):
    from celery import current_app

    (incident,) = start_runs(report, 1)
    redis.Redis.from_url(redis_url).flushdb()  # the first step's task is lost
    workers.start("a", beat=False)  # and with no beat, no sweep will ever do it
    time.sleep(3.5)  # WORKFLOW_STALL_SECONDS=3 in the workers
    with transaction.atomic():
        transaction.on_commit(lambda: current_app.send_task("coordination.workflows.tasks.audit"))
    stalled = wait_for(lambda: Event.objects.filter(name="workflow.stalled").first(), timeout=30,
                       what="the auditor's report", workers=workers)
    assert stalled.payload["incident"] == incident
    assert stalled.payload["overdue_steps"][0]["kind"] == "notify"
    assert StepRun.objects.get(run__incident_id=incident, index=0).state == StepState.PENDING
    wait_for(lambda: "stalled" in workers.logs(), timeout=10, what="the auditor's log line", workers=workers)
