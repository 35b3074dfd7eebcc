"""An alert issued by hand about the incident is the playbook's alert (issue 19: one flood, one
alert): the waiting publish_alert step completes with an outcome naming it and its own draft is
discarded; a step reached after such an alert drafts nothing. An alert about another incident
satisfies nothing. The engine is fed the `alert.issued` events as the dispatcher feeds it."""

import pytest
from django.db import transaction

from coordination.workflows import reconcile, triggers
from coordination.workflows.models import RunState, StepState, WorkflowRun
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
from incidents.alerts.issuing import alert_approve, alert_draft
from incidents.alerts.models import Alert
from incidents.models import TimelineEntry
from sharing.models import Event
from tests.conftest import MACAO, ZHONGSHAN
from tests.workflows.conftest import deliver, drive

pytestmark = pytest.mark.django_db

FLOOD = "cross-border-flood-typhoon"


def issued_by_hand(actor, incident) -> Alert:
    draft = alert_draft(actor=actor, incident=incident.public_id, data={"info": [
        {"language": "zh-CN", "headline": "暴雨红色预警"}, {"language": "en-US", "headline": "Red rainstorm warning"}]})
    return alert_approve(actor=actor, alert_id=draft.pk)


def deliver_alerts() -> None:
    """The alert events to the engine, as the dispatcher hands them over."""
    from sharing.eventlog import sequence_pending

    sequence_pending()
    with transaction.atomic():
        triggers.on_events(list(Event.objects.filter(name="alert.issued", seq__isnull=False).order_by("seq")))


def answered(run, principal_for, clock) -> None:
    for code in (ZHONGSHAN, MACAO):
        acknowledgement_acknowledge(actor=principal_for(code, role="operator"),
                                    acknowledgement_id=run.acknowledgements.get(jurisdiction_id=code).id)
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    drive(clock.now)


def test_a_hand_issued_alert_completes_the_waiting_step_and_discards_its_draft(
        playbooks, report, clock, principal_for, zhuhai):
    incident = report()
    deliver()
    drive(clock.now)
    run = WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD)
    answered(run, principal_for, clock)
    step = run.steps.get(step_id="public-alert")
    assert step.state == StepState.WAITING
    draft = step.outcome["alert"]
    alert = issued_by_hand(zhuhai, incident)
    deliver_alerts()
    drive(clock.advance(minutes=1))  # the run's version moved: the sweep reconciles it
    step.refresh_from_db()
    assert step.state == StepState.DONE
    assert step.outcome["alert"] == str(alert.pk) and step.outcome["issued_by_hand"] is True
    assert step.outcome["discarded_draft"] == draft
    assert not Alert.objects.filter(pk=draft).exists()  # one flood, one alert
    assert list(Alert.objects.filter(incident=incident).values_list("pk", flat=True)) == [alert.pk]
    entry = TimelineEntry.objects.get(incident_id=incident.pk, data__code="step.alert_issued_by_hand_draft_discarded")
    assert entry.data["params"]["alert"] == {"zh": "暴雨红色预警", "en": "Red rainstorm warning"}
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED
    # Delivered again: nothing changes.
    deliver_alerts()
    drive(clock.advance(minutes=1))
    lines = TimelineEntry.objects.filter(incident_id=incident.pk, data__code__startswith="step.alert_issued")
    assert lines.count() == 1


def test_a_step_reached_after_a_hand_issued_alert_drafts_none(playbooks, report, clock, principal_for, zhuhai):
    incident = report()
    deliver()
    drive(clock.now)
    run = WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD)
    alert = issued_by_hand(zhuhai, incident)  # before the run reaches its alert step
    answered(run, principal_for, clock)
    step = run.steps.get(step_id="public-alert")
    assert step.state == StepState.DONE and step.outcome["alert"] == str(alert.pk)
    assert step.outcome["discarded_draft"] is None
    assert Alert.objects.filter(incident=incident).count() == 1
    assert TimelineEntry.objects.filter(incident_id=incident.pk, data__code="step.alert_issued_by_hand").exists()


def test_an_alert_about_another_incident_satisfies_nothing(playbooks, report, clock, principal_for, zhuhai):
    incident = report()
    other = report(title="Storm surge at Zhuhai harbour", type="storm_surge", level="III", affected_area=None)
    deliver()
    drive(clock.now)
    run = WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD)
    answered(run, principal_for, clock)
    issued_by_hand(zhuhai, other)
    deliver_alerts()
    drive(clock.advance(minutes=1))
    step = run.steps.get(step_id="public-alert")
    assert step.state == StepState.WAITING and Alert.objects.filter(pk=step.outcome["alert"]).exists()
