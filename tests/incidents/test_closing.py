"""Closing an incident closes what it opened (issue 19): the closing note is required (API,
service, UI), the close confirmation lists what still hangs on the incident (its active alerts
with their all-clear), and when the closing event reaches the playbook engine its runs end
(acknowledgements withdrawn, the playbook's alert draft discarded), its joint command closes
(open tasks cancelled), its open mutual aid is withdrawn while what is lent stays lent, and the
timeline says which alerts are still active. Another jurisdiction sees nothing new.

Everything is real: the incidents, alerts, mutual-aid and workflow services on the test
database, the engine fed by the event log as the dispatcher feeds it.
"""

from datetime import timedelta

import pytest
from django.test import Client

from config.errors import Conflict, ValidationFailed
from coordination.workflows import reconcile
from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
    JointCommand,
    RunState,
    StepState,
    Task,
    TaskStatus,
    WorkflowRun,
)
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
from incidents.alerts.issuing import alert_approve, alert_draft
from incidents.alerts.models import Alert, AlertState
from incidents.models import TimelineEntry
from incidents.services import incident_transition
from sharing.models import Event
from sharing.mutualaid.lifecycle import OfferStatus, RequestStatus
from sharing.mutualaid.models import Inventory, ResourceRequest
from sharing.selectors import events_visible_to
from tests.conftest import JIANGMEN, MACAO, SHENZHEN, ZHONGSHAN, ZHUHAI
from tests.workflows.conftest import Clock, deliver, drive, typhoon_report

pytestmark = pytest.mark.django_db

FLOOD = "cross-border-flood-typhoon"
PASSWORD = "pw-Secret-123"


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.WORKFLOW_SWEEP_GRACE_SECONDS = 0


@pytest.fixture
def world(gba):
    from coordination.workflows.demo import load_playbooks
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType

    load_catalogue(ResourceType)
    load_playbooks()
    return gba


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def zhuhai(principal_for):
    return principal_for(ZHUHAI, role="commander")


def stock(code: str, resource_type: str, on_hand: int):
    from sharing.mutualaid.services.inventories import inventory_upsert

    return inventory_upsert(actor=None, jurisdiction=code, data={
        "resource_type": resource_type, "on_hand": on_hand, "external_id": f"{code}-{resource_type}"}).inventory


def flooded(zhuhai, clock):
    """A level II typhoon at Zhuhai touching Zhongshan and Macao, its playbook run started
    and driven as far as it goes without anyone answering."""
    from incidents.services import incident_report

    incident = incident_report(actor=zhuhai, data=typhoon_report()).incident
    deliver()
    drive(clock.now)
    return incident, WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD)


def walk_to_contained(actor, incident) -> None:
    for status in ("verified", "responding", "contained"):
        incident_transition(actor=actor, public_id=incident.public_id, status=status)


def close(actor, incident, clock, *, status="closed", note="洪水已退，转入恢复重建。") -> None:
    """Close (or cancel) as an officer would, then let the engine hear of it: the closing
    event delivered, the runs it marked reconciled (as the sweep or their task does)."""
    incident_transition(actor=actor, public_id=incident.public_id, status=status, note=note)
    deliver()
    drive(clock.advance(minutes=1))


def notes(incident) -> list[str]:
    return list(TimelineEntry.objects.filter(incident_id=incident.pk).exclude(data__code=None)
                .order_by("at", "id").values_list("data__code", flat=True))


def hand_alert(zhuhai, incident) -> Alert:
    draft = alert_draft(actor=zhuhai, incident=incident.public_id, data={"info": [
        {"language": "zh-CN", "headline": "台风红色预警：请远离海岸"},
        {"language": "en-US", "headline": "Typhoon red warning: keep away from the coast"}]})
    return alert_approve(actor=zhuhai, alert_id=draft.pk)


# --- the closing note --------------------------------------------------------------------------------


@pytest.mark.parametrize("note", ["", "  ", "。"])
def test_closing_or_cancelling_needs_a_closing_note(world, zhuhai, note):
    from incidents.services import incident_report

    incident = incident_report(actor=zhuhai, data=typhoon_report(level="IV", affected_area=None)).incident
    with pytest.raises(ValidationFailed) as refused:
        incident_transition(actor=zhuhai, public_id=incident.public_id, status="cancelled", note=note)
    assert "note" in refused.value.errors
    walk_to_contained(zhuhai, incident)  # other moves need none
    with pytest.raises(ValidationFailed):
        incident_transition(actor=zhuhai, public_id=incident.public_id, status="closed", note=note)
    incident_transition(actor=zhuhai, public_id=incident.public_id, status="closed", note="已处置完毕")
    entry = TimelineEntry.objects.filter(incident_id=incident.pk, status="closed").get()
    assert entry.text == "已处置完毕"  # the closing note is on the timeline


def test_the_api_requires_the_closing_note_and_a_forbidden_move_stays_a_conflict(world, api_as):
    client = api_as(ZHUHAI, role="commander")
    body = {**typhoon_report(level="IV", affected_area=None)}
    body["occurred_at"] = body["occurred_at"].isoformat()
    incident = client.post("/api/v1/incidents/", body, format="json").json()
    url = f"/api/v1/incidents/{incident['id']}/transition/"
    assert client.post(url, {"status": "closed"}, format="json").status_code == 409  # not contained yet
    refused = client.post(url, {"status": "cancelled"}, format="json")
    assert refused.status_code == 400 and "note" in refused.json()["errors"]
    assert client.post(url, {"status": "cancelled", "note": "误报"}, format="json").json()["status"] == "cancelled"


# --- the cascade ----------------------------------------------------------------------------------------


def test_closing_ends_the_run_withdraws_acknowledgements_and_closes_the_joint_command(world, zhuhai, clock):
    incident, run = flooded(zhuhai, clock)
    command = JointCommand.objects.get(incident_id=incident.public_id)
    tasks = list(Task.objects.filter(joint_command=command))
    assert tasks and Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING).count() == 2
    walk_to_contained(zhuhai, incident)
    close(zhuhai, incident, clock, status="cancelled", note="误报：台风转向")
    run.refresh_from_db()
    command.refresh_from_db()
    assert run.state == RunState.CANCELLED
    assert set(Acknowledgement.objects.filter(run=run).values_list("status", flat=True)) == {AckStatus.CANCELLED}
    assert command.status == JointCommand.Status.CLOSED and command.closed_at is not None
    assert set(Task.objects.filter(joint_command=command).values_list("status", flat=True)) == {TaskStatus.CANCELLED}
    codes = notes(incident)
    assert {"run.acks_withdrawn", "closing.command_closed_with_tasks", "run.stopped"} <= set(codes)
    entry = TimelineEntry.objects.get(incident_id=incident.pk, data__code="run.acks_withdrawn")
    assert entry.data["params"]["jurisdictions"] == sorted([MACAO, ZHONGSHAN])
    # Delivered again (a dispatcher that died before its commit): nothing more happens.
    count = TimelineEntry.objects.filter(incident_id=incident.pk).count()
    deliver()
    drive(clock.advance(minutes=1))
    assert TimelineEntry.objects.filter(incident_id=incident.pk).count() == count
    assert Event.objects.filter(name="joint_command.closed").count() == 1


def test_closing_discards_the_playbook_draft_and_winds_up_mutual_aid_keeping_what_is_lent(
        world, zhuhai, clock, principal_for, officer_client):
    from sharing.mutualaid.services.offers import commitment_move, offer_accept, offer_create

    boats = stock(ZHONGSHAN, "rescue_boat", 10)
    stock(JIANGMEN, "rescue_boat", 5)
    pumps = stock(ZHONGSHAN, "drainage_pump", 8)
    incident, run = flooded(zhuhai, clock)
    for code in (ZHONGSHAN, MACAO):
        acknowledgement_acknowledge(actor=principal_for(code, role="operator"),
                                    acknowledgement_id=run.acknowledgements.get(jurisdiction_id=code).id)
    reconcile.run_reconcile(run_id=run.id, now=clock.advance(minutes=1))
    drive(clock.now)
    alert_step = run.steps.get(step_id="public-alert")
    assert alert_step.state == StepState.WAITING
    draft_id = alert_step.outcome["alert"]
    assert Alert.objects.get(pk=draft_id).state == AlertState.DRAFT
    # The playbook's boat request: 2 of Zhongshan's lent (dispatched), 2 of Jiangmen's only offered.
    boat_request = ResourceRequest.objects.get(incident=incident, resource_type_id="rescue_boat")
    zhongshan = principal_for(ZHONGSHAN, role="commander")
    lent = offer_create(actor=zhongshan, request_id=boat_request.pk, data={"quantity": 2})
    offer_accept(actor=zhuhai, request_id=boat_request.pk, offer_id=lent.pk)
    commitment_move(actor=zhongshan, request_id=boat_request.pk, action="dispatch", offer_id=lent.pk)
    offered = offer_create(actor=principal_for(JIANGMEN, role="commander"), request_id=boat_request.pk,
                           data={"quantity": 2})
    # A request by hand, committed but nothing sent: withdrawn whole, the pumps back in stock.
    from sharing.mutualaid.services.requests import resource_request_create

    pump_request = resource_request_create(actor=zhuhai, data={
        "incident": incident.public_id, "resource_type": "drainage_pump", "quantity": 3,
        "needed_by": clock.now + timedelta(hours=3)})
    pump_offer = offer_create(actor=zhongshan, request_id=pump_request.pk, data={"quantity": 3})
    offer_accept(actor=zhuhai, request_id=pump_request.pk, offer_id=pump_offer.pk)
    assert Inventory.objects.get(pk=pumps.pk).committed == 3

    walk_to_contained(zhuhai, incident)
    close(zhuhai, incident, clock)

    run.refresh_from_db()
    assert run.state == RunState.CANCELLED
    assert not Alert.objects.filter(pk=draft_id).exists()  # discarded, never issued
    assert not Event.objects.filter(name="alert.issued").exists()
    pump_request.refresh_from_db()
    assert pump_request.status == RequestStatus.CANCELLED
    assert Inventory.objects.get(pk=pumps.pk).committed == 0
    boat_request.refresh_from_db()
    assert boat_request.status == RequestStatus.DISPATCHED  # what is out stays out until returned
    lent.refresh_from_db()
    offered.refresh_from_db()
    assert lent.status == OfferStatus.DISPATCHED and offered.status == OfferStatus.LAPSED
    assert Inventory.objects.get(pk=boats.pk).committed == 2
    codes = notes(incident)
    assert {"step.alert_draft_discarded", "closing.aid_withdrawn", "closing.aid_still_out"} <= set(codes)
    still_out = TimelineEntry.objects.get(incident_id=incident.pk, data__code="closing.aid_still_out")
    assert "2 × rescue_boat lent by 442000" in still_out.text
    # The officer reads those lines in their language: names, not codes.
    page = officer_client(ZHUHAI, "commander", "zh-hans").get(f"/incidents/{incident.public_id}/").content.decode()
    timeline = page[page.index('id="incident-timeline"'):]
    timeline = timeline[:timeline.index("</section>")]
    assert "仍在外，待归还" in timeline and "已撤回互助请求" in timeline and "已作废，未发布" in timeline
    assert "rescue_boat" not in timeline and "drainage_pump" not in timeline
    # The lent boats still come home along the lifecycle; the request takes no more offers.
    with pytest.raises(Conflict):
        offer_create(actor=principal_for(JIANGMEN, role="commander"), request_id=boat_request.pk,
                     data={"quantity": 1})
    for action in ("arrive", "release", "return"):
        commitment_move(actor=zhuhai, request_id=boat_request.pk, action=action, offer_id=lent.pk)
    boat_request.refresh_from_db()
    assert boat_request.status == RequestStatus.RETURNED


def test_active_alerts_are_listed_on_closing_and_stay_active(world, zhuhai, clock, officer_client):
    from incidents.services import incident_report

    incident = incident_report(actor=zhuhai, data=typhoon_report(level="III")).incident
    alert = hand_alert(zhuhai, incident)
    walk_to_contained(zhuhai, incident)
    page = officer_client(ZHUHAI, "commander", "zh-hans").get(f"/incidents/{incident.public_id}/").content.decode()
    confirm = page[page.index('id="closing-closed"'):]
    confirm = confirm[:confirm.index("</details>")]
    assert "台风红色预警：请远离海岸" in confirm  # the active alert, in the reader's language
    assert f"/alerts/{alert.pk}/cancel/" in confirm  # its all-clear in place
    assert 'name="note"' in confirm and "required" in confirm
    # Without a note the confirm step comes back with the error beside the note.
    client = officer_client(ZHUHAI, "commander", "en")
    refused = client.post(f"/incidents/{incident.public_id}/transition/", {"status": "closed", "note": ""})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "needs a closing note" in body and 'id="closing-closed" open' in body
    assert client.post(f"/incidents/{incident.public_id}/transition/",
                       {"status": "closed", "note": "Water receded."}).status_code == 302
    deliver()
    alert.refresh_from_db()
    assert alert.state == AlertState.ACTIVE  # never cancelled silently
    entry = TimelineEntry.objects.get(incident_id=incident.pk, data__code="closing.alerts_active")
    assert "Typhoon red warning" in entry.text
    page = client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "still active, not cancelled" in page and "closing-closed" not in page


# What the closing writes, and what had opened it: a jurisdiction may see the one only if it saw the other.
OPENED_BY = {
    "joint_command.closed": "joint_command.opened",
    "workflow.task_updated": "workflow.task_assigned",
    "workflow.cancelled": "workflow.started",
    "resource_request.cancelled": "resource_request.created",
}


def test_another_jurisdiction_sees_nothing_new_of_the_closing(world, zhuhai, clock, principal_for):
    from sharing.eventlog import sequence_pending
    from tests.conftest import GBA_CODES

    stock(ZHONGSHAN, "rescue_boat", 10)
    incident, run = flooded(zhuhai, clock)
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    walk_to_contained(zhuhai, incident)
    close(zhuhai, incident, clock)
    sequence_pending()
    closing = {(name, subject) for name, subject in Event.objects.filter(id__gt=last, name__in=OPENED_BY)
               .values_list("name", "subject_id")}
    assert {name for name, _ in closing} >= {"joint_command.closed", "workflow.task_updated", "workflow.cancelled"}
    by_seq = dict(Event.objects.filter(seq__isnull=False).values_list("seq", "id"))
    for code in GBA_CODES:
        viewer = principal_for(code, role="viewer")
        seen = {(event.name, event.subject_id) for event in Event.objects.filter(pk__in=[
            by_seq[message["seq"]] for message in events_visible_to(principal=viewer, since=0, limit=100_000)])}
        for name, subject in seen & closing:
            assert (OPENED_BY[name], subject) in seen, f"{code} sees {name} of {subject} but never saw it opened"
    # Shenzhen, no party to it, learns of the closing as it learned of the incident (level II: the cluster's).
    shenzhen = principal_for(SHENZHEN, role="viewer")
    seen_names = {message["event"] for message in events_visible_to(principal=shenzhen, since=0, limit=100_000)}
    assert "incident.status_changed" in seen_names


@pytest.fixture
def officer_client(gba):
    """officer_client(jurisdiction, role, language) -> a test client logged in as a new officer."""
    from coordination.services import officer_create

    count = iter(range(1, 1000))

    def make(jurisdiction: str, role: str, language: str) -> Client:
        user, _ = officer_create(username=f"closing-{role}-{jurisdiction}-{next(count)}",
                                 jurisdiction_code=jurisdiction, role=role, password=PASSWORD)
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client

    return make
