"""The playbook engine, driven directly: incident events in, steps, acknowledgements,
escalations, joint command and meetings out. Time is simulated by passing `now`."""

import logging
from datetime import timedelta

import pytest
from django.db import transaction

from coordination.workflows import deadlines, reconcile, steps, triggers
from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
    Escalation,
    IncidentFacts,
    JointCommand,
    Meeting,
    RunState,
    StepRun,
    StepState,
    Task,
    WorkflowRun,
)
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
from coordination.workflows.services.playbooks import playbook_update
from sharing.models import Event
from tests.conftest import DONGGUAN, FOSHAN, GUANGZHOU, JIANGMEN, MACAO, SHENZHEN, ZHONGSHAN, ZHUHAI
from tests.workflows.conftest import AFFECTED, deliver, drive, names

pytestmark = pytest.mark.django_db

FLOOD = "cross-border-flood-typhoon"


def flood_run(incident) -> WorkflowRun:
    return WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD)


def step(run, step_id) -> StepRun:
    return run.steps.get(step_id=step_id)


def ack_of(run, code) -> Acknowledgement:
    return run.acknowledgements.get(jurisdiction_id=code, escalation_of__isnull=True)


# --- starting runs -----------------------------------------------------------------------------


def test_it_starts_the_flood_playbook_once_for_a_cross_border_typhoon(playbooks, report):
    incident = report()
    deliver()
    deliver()  # the dispatcher redelivers a batch whose commit it did not see: nothing new
    runs = WorkflowRun.objects.filter(incident_id=incident.public_id)
    assert [run.playbook.code for run in runs] == [FLOOD]
    run = runs.get()
    facts = IncidentFacts.objects.get(pk=incident.public_id)
    assert (facts.owner, facts.level, facts.cluster, facts.affected_codes) == (ZHUHAI, "II", "GBA", AFFECTED)
    assert run.definition == playbooks[FLOOD].definition and run.playbook_version == 1
    assert run.chain["circle_leads"][ZHONGSHAN] == ZHUHAI and run.chain["circle_leads"][MACAO] is None
    assert run.chain["committee"]["code"] == "GBA-COMMITTEE"
    states = list(run.steps.values_list("state", flat=True))
    assert states[0] == StepState.PENDING and set(states[1:]) == {StepState.PLANNED}
    assert names(name__startswith="workflow.") == ["workflow.started"]


@pytest.mark.parametrize("fields", [
    {"level": "IV"},  # below the trigger's level
    {"affected_area": None, "location": {"lat": 22.27, "lon": 113.30}},  # inside Zhuhai only: not cross-border
    {"category": "accident", "type": "fire"},
])
def test_it_starts_nothing_for_incidents_outside_every_trigger(playbooks, report, fields):
    incident = report(**fields)
    deliver()
    assert not WorkflowRun.objects.filter(incident_id=incident.public_id).exists()
    assert IncidentFacts.objects.filter(pk=incident.public_id).exists()


def test_a_level_raised_later_starts_the_run_then_and_only_once(playbooks, report, zhuhai):
    from incidents.services import incident_update

    incident = report(level="IV")
    deliver()
    assert not WorkflowRun.objects.exists()
    incident_update(actor=zhuhai, public_id=incident.public_id, data={"level": "III"})
    deliver()
    incident_update(actor=zhuhai, public_id=incident.public_id, data={"title": "Typhoon Saola, upgraded"})
    deliver()
    assert WorkflowRun.objects.filter(incident_id=incident.public_id).count() == 1


def test_a_broken_event_is_skipped_without_stopping_the_others(playbooks, report, caplog):
    incident = report()
    from sharing.eventlog import sequence_pending

    sequence_pending()
    good = Event.objects.get(name="incident.created")
    broken = Event(name="incident.updated", seq=good.seq + 1000, payload={"id": "INC-2026-999999"}, owner=ZHUHAI)
    with transaction.atomic():
        triggers.on_events([broken, good])
    assert "could not apply incident.updated" in caplog.text
    assert WorkflowRun.objects.filter(incident_id=incident.public_id).exists()


# --- steps -------------------------------------------------------------------------------------


def test_it_notifies_the_affected_and_their_neighbours_and_asks_the_affected(playbooks, report, clock):
    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    warn = step(run, "warn")
    assert warn.state == StepState.DONE and warn.attempts == 1
    # Zhuhai reports; the affected are Zhongshan and Macao; their neighbours Jiangmen,
    # Guangzhou and Foshan (Zhongshan's) are told too.
    assert warn.outcome["notified"] == sorted([ZHONGSHAN, MACAO, JIANGMEN, GUANGZHOU, FOSHAN])
    asked = run.acknowledgements.order_by("jurisdiction_id")
    assert [a.jurisdiction_id for a in asked] == [ZHONGSHAN, MACAO]
    assert all(a.due_at == clock.now + timedelta(minutes=30) for a in asked)  # level II: 30 minutes
    done = Event.objects.filter(name="workflow.step_done").order_by("id")
    notified = done.first()
    assert set(notified.jurisdiction_codes) >= {ZHONGSHAN, MACAO, JIANGMEN, GUANGZHOU, FOSHAN}
    assert names(name="acknowledgement.requested") == ["acknowledgement.requested"] * 2


@pytest.mark.parametrize("level, minutes", [("I", 15), ("II", 30), ("III", 60)])
def test_the_deadline_is_shorter_the_more_severe_the_level(playbooks, report, clock, level, minutes):
    incident = report(level=level)
    deliver()
    drive(clock.now)
    ack = ack_of(flood_run(incident), MACAO)
    assert ack.level == level and ack.due_at == clock.now + timedelta(minutes=minutes)


def test_level_ii_opens_a_joint_command_convenes_the_committee_and_asks_for_boats(playbooks, report, clock):
    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    command = JointCommand.objects.get(incident_id=incident.public_id)
    assert command.lead_id == ZHUHAI  # lead city of Zhuhai's circle (珠中江): itself
    assert command.participant_codes == AFFECTED
    assert Task.objects.filter(joint_command=command).count() == 4  # one for the lead, one per participant
    meeting = Meeting.objects.get(run=run)
    assert meeting.body_id == "GBA-COMMITTEE" and meeting.scheduled_at == clock.now + timedelta(hours=2)
    assert meeting.agenda.count() == 4 and meeting.agenda.first().incident_id == incident.public_id
    # The run waits for every acknowledgement (at most an hour) before going on.
    assert step(run, "all-acknowledged").state == StepState.WAITING
    assert step(run, "boats").state == StepState.PLANNED


def test_a_level_iii_typhoon_skips_the_level_ii_steps(playbooks, report, clock):
    incident = report(level="III")
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    assert step(run, "joint-command").state == StepState.SKIPPED
    assert step(run, "meeting").state == StepState.SKIPPED
    assert not JointCommand.objects.exists()


def test_the_run_completes_when_every_acknowledgement_is_in(playbooks, report, clock, principal_for):
    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    for code in (ZHONGSHAN, MACAO):
        acknowledgement_acknowledge(actor=principal_for(code, role="operator"),
                                    acknowledgement_id=ack_of(run, code).id)
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    drive(clock.now)
    run.refresh_from_db()
    assert step(run, "all-acknowledged").outcome == {"condition_met": True}
    assert step(run, "boats").state == StepState.DONE
    assert step(run, "boats").outcome["resource_request"]  # a mutual-aid request for Zhuhai
    assert step(run, "public-alert").state == StepState.WAITING  # a commander approves it
    assert step(run, "committee").state == StepState.SKIPPED  # level I only
    assert run.state == RunState.RUNNING  # the approval is still open
    assert not Escalation.objects.exists()


def test_every_step_is_a_timeline_entry_of_the_incident(playbooks, report, clock):
    from incidents.models import TimelineEntry

    incident = report()
    deliver()
    drive(clock.now)
    texts = list(TimelineEntry.objects.filter(incident=incident, kind="workflow").values_list("text", flat=True))
    assert any("started" in text for text in texts)
    assert any(text.startswith(f"Playbook {FLOOD}: notified") for text in texts)
    assert any("joint command" in text.lower() for text in texts)
    assert any("Joint command opened" in text for text in texts)


# --- deadlines and escalation --------------------------------------------------------------------


def test_an_unanswered_request_escalates_along_the_chain(playbooks, report, clock):
    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    due = ack_of(run, MACAO).due_at
    drive(due + timedelta(seconds=2))
    macao = ack_of(run, MACAO)
    assert macao.overdue and macao.stage == 1
    first = Escalation.objects.get(acknowledgement=macao)
    assert (first.target, first.target_jurisdiction_id) == ("duty_officers", MACAO)
    # Macao belongs to no metropolitan circle: next comes the cluster committee.
    drive(due + timedelta(minutes=20, seconds=4))
    assert list(Escalation.objects.filter(acknowledgement=macao).values_list("stage", "target")) == [
        (1, "duty_officers"), (2, "committee")]
    assert ack_of(run, MACAO).next_check_at is None  # the end of the chain
    # Zhongshan's chain would go through Zhuhai, lead city of the 珠中江 circle, but Zhuhai
    # reported the typhoon: it is passed over, and the committee comes next, nobody asked in place.
    zhongshan = ack_of(run, ZHONGSHAN)
    assert list(Escalation.objects.filter(acknowledgement=zhongshan).values_list("target", "target_jurisdiction")) \
        == [("duty_officers", ZHONGSHAN), ("committee", None)]
    assert not zhongshan.escalated_to.exists()
    drive(due + timedelta(hours=3))
    assert Escalation.objects.filter(acknowledgement=macao).count() == 2
    assert Escalation.objects.filter(acknowledgement=zhongshan).count() == 2
    assert names(name="acknowledgement.overdue") == ["acknowledgement.overdue"] * 2
    assert len(names(name="escalation.raised")) == 4
    committee = Event.objects.filter(name="escalation.raised", payload__target="committee").first()
    assert {SHENZHEN, DONGGUAN} <= set(committee.jurisdiction_codes)  # every committee member hears of it


def test_a_request_answered_a_moment_before_its_deadline_does_not_escalate(playbooks, report, clock,
                                                                           principal_for):
    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    macao = ack_of(run, MACAO)
    acknowledgement_acknowledge(actor=principal_for(MACAO, role="operator"), acknowledgement_id=macao.id)
    # A task carrying Macao's token is stale now; as one task is sent for both deadlines (they
    # fall due together), it still does Zhongshan's.
    assert deadlines.acknowledgement_check(acknowledgement_id=str(macao.id), token=str(macao.token),
                                        now=macao.due_at + timedelta(seconds=1)) == "escalated"
    drive(macao.due_at + timedelta(seconds=5))
    assert not Escalation.objects.filter(acknowledgement=macao).exists()
    assert Escalation.objects.filter(acknowledgement=ack_of(run, ZHONGSHAN)).count() == 1


def test_the_lead_city_answering_for_a_silent_member_ends_its_chain(playbooks, report, clock, principal_for):
    # Reported by Macao: Zhuhai, lead of Zhongshan's circle, is not the reporter, so it is asked.
    incident = report(actor=principal_for(MACAO, role="commander"))
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    due = ack_of(run, ZHONGSHAN).due_at
    drive(due + timedelta(seconds=2))
    drive(due + timedelta(minutes=20, seconds=4))
    child = ack_of(run, ZHONGSHAN).escalated_to.get()
    acknowledgement_acknowledge(actor=principal_for(ZHUHAI, role="operator"), acknowledgement_id=child.id)
    drive(due + timedelta(hours=3))
    assert Escalation.objects.filter(acknowledgement__jurisdiction=ZHONGSHAN).count() == 2  # no committee
    assert ack_of(run, ZHONGSHAN).status == AckStatus.PENDING  # Zhongshan itself still has not answered


def test_a_deadline_check_runs_once_however_often_it_is_delivered(playbooks, report, clock):
    incident = report()
    deliver()
    drive(clock.now)
    macao = ack_of(flood_run(incident), MACAO)
    later = macao.due_at + timedelta(seconds=1)
    assert deadlines.acknowledgement_check(acknowledgement_id=str(macao.id), token=str(macao.token), now=later) \
        == "escalated"
    # The same task again (a redelivery), and the sweep, find nothing left to do.
    assert deadlines.acknowledgement_check(acknowledgement_id=str(macao.id), token=str(macao.token), now=later) \
        == "stale"
    assert deadlines.acknowledgement_check(acknowledgement_id=str(macao.id), token=None, now=later) == "not yet"
    assert Escalation.objects.filter(acknowledgement=macao).count() == 1


def test_a_step_task_with_a_stale_token_exits_and_a_step_is_claimed_once(playbooks, report, clock):
    incident = report()
    deliver()
    first = flood_run(incident).steps.get(index=0)
    assert deadlines.step_execute(step_id=first.pk, token=str(first.token) + "x", now=clock.now) == "stale"
    assert deadlines.step_execute(step_id=first.pk, token=str(first.token), now=clock.now) == StepState.DONE
    assert deadlines.step_execute(step_id=first.pk, token=str(first.token), now=clock.now) == "stale"
    assert deadlines.step_execute(step_id=first.pk, token=None, now=clock.now) == "not due"
    assert Event.objects.filter(name="workflow.step_done", payload__step__index=0).count() == 1
    # The steps due at once after it ran in the same transaction, each once too.
    done = [e.payload["step"]["index"] for e in Event.objects.filter(name="workflow.step_done").order_by("id")]
    assert done == sorted(set(done)) == [0, 1, 2, 3, 4]


# --- facts changing under a run -------------------------------------------------------------------


def test_newly_affected_jurisdictions_are_notified_and_asked_too(playbooks, report, clock, zhuhai):
    from incidents.services import incident_jurisdiction_add

    incident = report()
    deliver()
    drive(clock.now)
    incident_jurisdiction_add(actor=zhuhai, public_id=incident.public_id, jurisdiction=JIANGMEN)
    deliver()
    run = flood_run(incident)
    assert run.facts_version == 1 and run.reconciled_version == 0
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    assert ack_of(run, JIANGMEN).due_at == clock.now + timedelta(minutes=30)
    warn = step(run, "warn")
    assert JIANGMEN in warn.outcome["notified"]
    extended = Event.objects.filter(name="workflow.step_extended").order_by("id")
    # Jiangmen was told already as Zhongshan's neighbour; now it is asked to acknowledge too.
    assert [(e.payload["step"]["id"], e.payload["added"]) for e in extended] == [("acknowledge", [JIANGMEN])]
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))  # nothing more: idempotent
    assert run.acknowledgements.filter(jurisdiction_id=JIANGMEN).count() == 1


def test_a_level_raised_to_ii_re_arms_the_steps_it_skipped(playbooks, report, clock, zhuhai):
    from incidents.services import incident_update

    incident = report(level="III")
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    assert step(run, "joint-command").state == StepState.SKIPPED
    incident_update(actor=zhuhai, public_id=incident.public_id, data={"level": "II"})
    deliver()
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    drive(clock.now)
    assert step(run, "joint-command").state == StepState.DONE
    assert JointCommand.objects.filter(incident_id=incident.public_id).exists()
    # Re-armed steps run beside the run's own position: the wait is still where it was.
    assert step(run, "all-acknowledged").state == StepState.WAITING


def test_closing_the_incident_ends_the_run_and_withdraws_its_requests(playbooks, report, clock, zhuhai):
    from incidents.services import incident_transition

    incident = report()
    deliver()
    drive(clock.now)
    incident_transition(actor=zhuhai, public_id=incident.public_id, status="cancelled", note="false alarm")
    deliver()
    run = flood_run(incident)
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED and "cancelled" in run.ended_reason
    assert set(run.acknowledgements.values_list("status", flat=True)) == {AckStatus.CANCELLED}
    drive(clock.advance(hours=5))
    assert not Escalation.objects.exists()


def test_a_run_keeps_the_playbook_it_started_with(playbooks, report, clock):
    incident = report()
    deliver()
    playbook = playbooks[FLOOD]
    definition = dict(playbook.definition, steps=playbook.definition["steps"][:1])
    playbook_update(actor=None, playbook=playbook, definition=definition)
    drive(clock.now)
    run = flood_run(incident)
    assert run.playbook_version == 1 and run.steps.count() == 9
    assert step(run, "acknowledge").state == StepState.DONE


# --- failures and the auditor ----------------------------------------------------------------------


def test_a_step_that_raises_is_retried_then_failed_and_the_run_goes_on(playbooks, report, clock, monkeypatch,
                                                                       settings):
    settings.WORKFLOW_STEP_MAX_ATTEMPTS = 2

    def broken(run, step, spec, now):
        raise RuntimeError("notification gateway down")

    monkeypatch.setitem(steps.PERFORMERS, "notify", broken)
    incident = report()
    deliver()
    run = flood_run(incident)
    warn = step(run, "warn")
    assert deadlines.step_execute(step_id=warn.pk, token=None, now=clock.now) == "error"
    warn.refresh_from_db()
    assert (warn.state, warn.attempts) == (StepState.PENDING, 1) and "gateway down" in warn.last_error
    assert warn.due_at > clock.now  # backoff
    drive(clock.advance(seconds=30))
    warn.refresh_from_db()
    assert (warn.state, warn.attempts) == (StepState.FAILED, 2)
    assert names(name="workflow.step_failed") == ["workflow.step_failed"]
    assert step(run, "acknowledge").state == StepState.DONE


def test_the_auditor_reports_due_work_nobody_did_once(playbooks, report, clock, caplog, settings):
    settings.WORKFLOW_STALL_SECONDS = 60
    incident = report()
    deliver()
    run = flood_run(incident)
    assert deadlines.audit(now=clock.now) == []
    with caplog.at_level(logging.ERROR, logger="liandong.workflows"):
        assert deadlines.audit(now=clock.advance(minutes=5)) == [str(run.id)]
        assert deadlines.audit(now=clock.advance(minutes=1)) == [str(run.id)]
    assert caplog.text.count(f"workflow run {run.id} stalled") == 2
    stalled = Event.objects.get(name="workflow.stalled")
    assert stalled.payload["overdue_steps"][0]["kind"] == "notify"
    drive(clock.now)
    assert deadlines.audit(now=clock.now) == []
    run.refresh_from_db()
    assert run.stalled_reported_at is None


# --- the edges: the dispatcher, the alerts app, the event log ------------------------------------


def test_the_dispatch_tasks_start_runs_from_dispatched_events(playbooks, report):
    """Nothing here hands events to the engine: the dispatch task (sharing.tasks, the edge)
    does. The relay's pass after it (the events the run wrote) starts nothing more."""
    from sharing.tasks import dispatch_events, relay_events

    incident = report()
    dispatch_events()
    relay_events()
    assert WorkflowRun.objects.filter(incident_id=incident.public_id).count() == 1
    assert Event.objects.filter(name="workflow.started").count() == 1


def test_an_alert_approved_through_the_alerts_api_completes_its_step(playbooks, report, clock, principal_for):
    from incidents.alerts.issuing import alert_approve

    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    for code in (ZHONGSHAN, MACAO):
        acknowledgement_acknowledge(actor=principal_for(code, role="operator"),
                                    acknowledgement_id=ack_of(run, code).id)
    drive(clock.advance(minutes=1))
    waiting = step(run, "public-alert")
    assert waiting.state == StepState.WAITING and waiting.outcome["alert"]
    alert_approve(actor=principal_for(ZHUHAI, role="commander"), alert_id=waiting.outcome["alert"])
    from sharing.eventlog import sequence_pending

    sequence_pending()
    with transaction.atomic():
        triggers.on_events(list(Event.objects.filter(name="alert.issued")))
    drive(clock.advance(minutes=1))  # the sweep reconciles the run (its version moved)
    done = step(run, "public-alert")
    assert done.state == StepState.DONE and done.outcome["approved"] is True
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED


def test_the_run_is_seen_on_the_event_log_as_through_the_api(playbooks, report, clock, principal_for):
    from sharing.eventlog import sequence_pending
    from sharing.selectors import events_visible_to

    incident = report(level="III")
    deliver()
    drive(clock.now)
    sequence_pending()

    def workflow_events(code):
        return {m["event"] for m in events_visible_to(principal=principal_for(code), since=0, limit=1000)
                if m["event"].split(".")[0] in ("workflow", "acknowledgement", "joint_command", "meeting")}

    assert "workflow.started" in workflow_events(JIANGMEN)  # a neighbour the playbook notified
    assert "acknowledgement.requested" in workflow_events(MACAO)
    assert workflow_events("441300") == set()  # Huizhou: not concerned by a level III incident
    assert not WorkflowRun.objects.filter(incident_id=incident.public_id, concerned__contains=",441300,").exists()


# --- throughput: work done together ----------------------------------------------------------------


def test_a_step_that_fails_among_steps_due_together_is_left_to_its_own_task(playbooks, report, clock, monkeypatch):
    def broken(run, step, spec, now):
        raise RuntimeError("joint command service down")

    monkeypatch.setitem(steps.PERFORMERS, "open_joint_command", broken)
    incident = report()
    deliver()
    run = flood_run(incident)
    first = run.steps.get(index=0)
    assert deadlines.step_execute(step_id=first.pk, token=str(first.token), now=clock.now) == StepState.DONE
    states = dict(run.steps.values_list("step_id", "state"))
    # The three steps before it are done, each once; it is pending, its events and effects undone.
    assert [states[s] for s in ("warn", "acknowledge", "tell-core-cities", "joint-command", "meeting")] == [
        "done", "done", "done", "pending", "planned"]
    assert not JointCommand.objects.exists()
    assert Event.objects.filter(name="workflow.step_done").count() == 3
    monkeypatch.undo()
    drive(clock.advance(seconds=1))
    assert step(run, "joint-command").state == StepState.DONE and step(run, "meeting").state == StepState.DONE


def test_a_task_also_does_work_overdue_in_other_runs(playbooks, report, clock):
    report(title="one"), report(title="two")
    deliver()
    steps = StepRun.objects.filter(index=0).order_by("run__incident_id")
    mine, theirs = list(steps)
    their_token = str(theirs.token)
    later = clock.advance(seconds=5)  # both overdue: the second's own task is stuck in a queue
    assert deadlines.step_execute(step_id=mine.pk, token=str(mine.token), now=later) == StepState.DONE
    theirs.refresh_from_db()
    assert theirs.state == StepState.DONE
    assert deadlines.step_execute(step_id=theirs.pk, token=their_token, now=later) == "stale"
    assert Event.objects.filter(name="workflow.step_done", payload__step__index=0).count() == 2



# --- the shipped playbooks -------------------------------------------------------------------------


BORDER_CROSSING = {"type": "Polygon", "coordinates": [[
    [113.53, 22.19], [113.56, 22.19], [113.56, 22.22], [113.53, 22.22], [113.53, 22.19],
]]}


@pytest.mark.parametrize("code, fields", [
    ("cross-border-flood-typhoon", {}),
    ("hazardous-spill-shared-river", {"title": "Benzene spill on the Qianshan river", "category": "accident",
                                      "type": "hazmat"}),
    ("epidemic-cluster-cities", {"title": "Dengue cluster", "category": "public_health", "type": "epidemic"}),
    ("border-crossing-mass-gathering", {"title": "Crowd at the Gongbei border gate", "category": "social_safety",
                                        "type": "mass_gathering", "affected_area": BORDER_CROSSING}),
])
def test_each_shipped_playbook_runs_to_its_end(playbooks, report, clock, principal_for, code, fields):
    incident = report(**fields)
    deliver()
    run = WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=code)
    drive(clock.now)
    for ack in run.acknowledgements.filter(escalation_of__isnull=True):
        acknowledgement_acknowledge(actor=principal_for(ack.jurisdiction_id, role="operator"),
                                    acknowledgement_id=ack.id)
    for hours in (1, 2, 5, 13, 25):
        drive(clock.advance(hours=hours))
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED, list(run.steps.values_list("step_id", "state", "outcome"))
    assert not run.steps.filter(state=StepState.FAILED).exists()
    assert not Escalation.objects.filter(acknowledgement__run=run).exists()  # everyone answered in time


def test_a_paused_run_stops_the_clock(playbooks, report, clock, principal_for):
    from coordination.workflows.services.run_control import workflow_run_pause, workflow_run_resume

    incident = report()
    deliver()
    drive(clock.now)
    run = flood_run(incident)
    coordinator = principal_for("440100", role="coordinator")
    due = ack_of(run, MACAO).due_at
    workflow_run_pause(actor=coordinator, run_id=run.id)
    drive(due + timedelta(hours=3))
    assert not Escalation.objects.exists()
    workflow_run_resume(actor=coordinator, run_id=run.id)
    resumed = ack_of(run, MACAO)
    assert resumed.due_at > due  # moved on by the pause
    drive(resumed.due_at + timedelta(seconds=1))
    assert Escalation.objects.filter(acknowledgement=resumed).count() == 1


# --- the drain: a task that did its own work takes over others' overdue work ----------------------


@pytest.mark.django_db(transaction=True)
def test_a_task_drains_the_overdue_work_of_runs_nobody_holds_and_passes_over_a_held_one(postgres, playbooks,
                                                                                           report, clock):
    import threading

    from django.db import connection

    first, second, third = (report(title=f"Typhoon {n} makes landfall at Zhuhai") for n in range(3))
    deliver()
    runs = [flood_run(incident) for incident in (first, second, third)]
    due = {run.pk: run.steps.get(index=0) for run in runs}
    assert all(step.state == StepState.PENDING and step.due_at <= clock.now for step in due.values())
    held, release = threading.Event(), threading.Event()

    def hold(run_id):  # another worker in the middle of this run's own task
        try:
            with transaction.atomic():
                WorkflowRun.objects.select_for_update().get(pk=run_id)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, args=(runs[1].pk,))
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            # The task of runs[0] did its own step: the drain takes runs[2]'s, passes over the held
            # runs[1] (skip_locked: it never waits), and leaves runs[0] to the task holding it.
            busy = {runs[0].pk}
            done = deadlines._drain(clock.now, busy=busy)
        assert done >= 1 and busy == {runs[0].pk, runs[2].pk}
        states = {run.pk: StepRun.objects.get(pk=due[run.pk].pk).state for run in runs}
        assert states[runs[0].pk] == StepState.PENDING  # busy: its own task's
        assert states[runs[1].pk] == StepState.PENDING  # held by another
        assert states[runs[2].pk] != StepState.PENDING
    finally:
        release.set()
        holder.join()
    with transaction.atomic():
        deadlines._drain(clock.now, busy=set())
    assert not StepRun.objects.filter(pk__in=[step.pk for step in due.values()], state=StepState.PENDING).exists()
