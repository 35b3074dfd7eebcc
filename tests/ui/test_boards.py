"""The other screens: acknowledgements, mutual aid, joint command, sharing agreements, alerts
and the charts, each reading through its selectors and writing through its services."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, GBA_CODES, GUANGZHOU, SHENZHEN, ZHAOQING, ZHUHAI
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db

CAP_DATA = Path(__file__).resolve().parents[1] / "alerts" / "data"


# --- acknowledgements -------------------------------------------------------------------------------


def test_the_dashboard_lists_what_we_owe_with_a_countdown_and_takes_the_acknowledgement(
        browse_as, reported, run_playbooks):
    from coordination.workflows.models import Acknowledgement, AckStatus

    incident = reported(SHENZHEN, level="II", title="观澜河决堤", affected_area=cross_border_area())
    run_playbooks()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    dongguan = browse_as(DONGGUAN, "operator")
    html = dongguan.get("/").content.decode()
    assert "本辖区待确认事项" in html and "观澜河决堤" in html
    assert f'data-due="{timezone.localtime(ack.due_at).isoformat()}"' in html
    response = dongguan.post(f"/acknowledgements/{ack.id}/ack/", HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.lstrip().startswith('<div id="owed"')
    assert f"已确认 {incident.public_id}" in fragment and "没有待确认事项" in fragment
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.acknowledged_by == dongguan.user.username
    # Again: nothing changes, and the page says so without an error.
    assert dongguan.post(f"/acknowledgements/{ack.id}/ack/", {"next": "/incidents/"}).status_code == 302


def test_a_jurisdiction_cannot_acknowledge_for_another(browse_as, reported, run_playbooks):
    from coordination.workflows.models import Acknowledgement, AckStatus

    reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    assert browse_as(SHENZHEN, "operator").post(f"/acknowledgements/{ack.id}/ack/").status_code == 403
    assert browse_as(ZHAOQING, "operator").post(f"/acknowledgements/{ack.id}/ack/").status_code == 403
    assert browse_as(DONGGUAN, "operator").post(
        "/acknowledgements/00000000-0000-0000-0000-000000000000/ack/").status_code == 404
    assert Acknowledgement.objects.get(pk=ack.pk).status == AckStatus.PENDING


def test_the_ack_redirect_stays_on_this_site(browse_as, reported, run_playbooks):
    from coordination.workflows.models import Acknowledgement

    reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    response = browse_as(DONGGUAN).post(f"/acknowledgements/{ack.id}/ack/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_incident_page_shows_the_workflow_progress(browse_as, reported, run_playbooks):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    html = browse_as(DONGGUAN, "operator").get(f"/incidents/{incident.public_id}/").content.decode()
    for text in ["联防联控", "跨界洪涝台风联防联控预案", "请求确认", "成立联合指挥部", "请本辖区确认", "确认收到",
                 'class="step-state done"', 'class="step-state waiting"']:
        assert text in html, text


def test_the_acknowledgement_times_chart(browse_as, reported, run_playbooks):
    from coordination.workflows.models import Acknowledgement
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

    reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    Acknowledgement.objects.filter(pk=ack.pk).update(requested_at=timezone.now() - timedelta(minutes=12))
    acknowledgement_acknowledge(actor=browse_as(DONGGUAN).principal, acknowledgement_id=ack.id)
    (row,) = browse_as(SHENZHEN).get("/fragments/charts/").context["ack_times"]
    assert row.jurisdiction == DONGGUAN and row.count == 1 and 11.9 <= row.median_minutes <= 12.5
    html = browse_as(SHENZHEN).get("/").content.decode()
    assert "各辖区确认用时" in html and "东莞市" in html


def test_the_level_chart_counts_real_incidents_by_day_and_level(browse_as, reported):
    reported(SHENZHEN, level="II")
    reported(SHENZHEN, level="II")
    reported(SHENZHEN, level="I")
    reported(SHENZHEN, level="I", exercise=True)
    chart = browse_as(SHENZHEN).get("/fragments/charts/").context["level_chart"]
    today = chart["days"][-1]
    assert today.counts == {"I": 1, "II": 2, "III": 0, "IV": 0} and chart["total"] == 3
    assert [bar.level for bar in today.bars] == ["II", "I"]  # the most severe on top


# --- mutual aid --------------------------------------------------------------------------------------


@pytest.fixture
def boats(gba):
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from sharing.mutualaid.services.inventories import inventory_upsert

    load_catalogue(ResourceType)
    return inventory_upsert(actor=None, jurisdiction=DONGGUAN, data={"resource_type": "rescue_boat", "on_hand": 6})


def test_mutual_aid_from_request_to_dispatch_on_the_board(browse_as, reported, boats):
    from sharing.mutualaid.models import Offer, ResourceRequest

    incident = reported(SHENZHEN, level="III", title="坪山河洪水")
    shenzhen = browse_as(SHENZHEN, "commander")
    shenzhen.post(f"/incidents/{incident.public_id}/resource-requests/", {
        "resource_type": "rescue_boat", "quantity": "4",
        "needed_by": (timezone.localtime() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")})
    request = ResourceRequest.objects.get()
    dongguan = browse_as(DONGGUAN, "operator")
    board = dongguan.get("/resources/").content.decode()
    assert "深圳市 请求冲锋舟 4 艘" in board or "冲锋舟" in board
    assert f'action="/resource-requests/{request.pk}/offer/"' in board
    assert browse_as(ZHAOQING).get("/resources/").context["board"] == []  # not asked, not shown
    response = dongguan.post(f"/resource-requests/{request.pk}/offer/", {"quantity": "0"})
    assert response.status_code == 400 and 'id="id_quantity_error"' in response.content.decode()
    response = dongguan.post(f"/resource-requests/{request.pk}/offer/", {"quantity": "9"})
    assert response.status_code == 400 and "still needed" in response.content.decode()
    assert dongguan.post(f"/resource-requests/{request.pk}/offer/", {"quantity": "3", "note": "两小时内出发"}
                         ).status_code == 302
    offer = Offer.objects.get()
    board = shenzhen.get("/resources/").content.decode()
    assert f'action="/resource-requests/{request.pk}/offers/{offer.pk}/accept/"' in board
    assert shenzhen.post(f"/resource-requests/{request.pk}/offers/{offer.pk}/accept/", {"quantity": "3"}
                         ).status_code == 302
    offer.refresh_from_db()
    assert offer.status == "committed"
    assert "标记已派出" in dongguan.get("/resources/").content.decode()
    dongguan.post(f"/resource-requests/{request.pk}/dispatch/")
    offer.refresh_from_db()
    assert offer.status == "dispatched"
    response = dongguan.post(f"/resource-requests/{request.pk}/fly/")
    assert response.status_code == 404


def test_a_viewer_gets_no_offer_form_and_the_service_refuses_its_offer(browse_as, reported, boats):
    from sharing.mutualaid.models import Offer, ResourceRequest
    from sharing.mutualaid.services.requests import resource_request_create

    incident = reported(SHENZHEN, level="III")
    resource_request_create(actor=browse_as(SHENZHEN, "commander").principal, data={
        "incident": incident.public_id, "resource_type": "rescue_boat", "quantity": 2,
        "needed_by": timezone.now() + timedelta(hours=3)})
    request = ResourceRequest.objects.get()
    viewer = browse_as(DONGGUAN, "viewer")
    assert "/offer/" not in viewer.get("/resources/").content.decode()
    assert viewer.post(f"/resource-requests/{request.pk}/offer/", {"quantity": "1"}).status_code == 403
    assert not Offer.objects.exists()


# --- joint command and meetings -----------------------------------------------------------------------


def test_participants_write_in_the_joint_commands_log_and_move_their_tasks(browse_as, reported, run_playbooks):
    from coordination.workflows.models import JointCommand, Task

    reported(SHENZHEN, level="II", title="观澜河决堤", affected_area=cross_border_area())
    run_playbooks()
    command = JointCommand.objects.get()
    dongguan = browse_as(DONGGUAN, "operator")
    html = dongguan.get("/command/").content.decode()
    assert f'id="command-{command.id}"' in html and "联席会议" in html and "本辖区未完成任务" in html
    response = dongguan.post(f"/joint-commands/{command.id}/log/", {"text": ""})
    assert response.status_code == 400 and 'id="id_text_error"' in response.content.decode()
    assert dongguan.post(f"/joint-commands/{command.id}/log/", {"text": "东莞侧水位 3.2 米"}).status_code == 302
    assert command.log.get().text == "东莞侧水位 3.2 米"
    task = Task.objects.get(assignee_id=DONGGUAN)
    assert dongguan.post(f"/tasks/{task.id}/move/", {"status": "in_progress"}).status_code == 302
    task.refresh_from_db()
    assert task.status == "in_progress"
    dongguan.post(f"/tasks/{task.id}/move/", {"status": "open"})  # backwards: refused, explained
    task.refresh_from_db()
    assert task.status == "in_progress"
    # Zhaoqing sees a level II incident's joint command (the cluster default), but takes no part.
    zhaoqing = browse_as(ZHAOQING)
    assert f'id="command-{command.id}"' in zhaoqing.get("/command/").content.decode()
    assert "/log/" not in zhaoqing.get("/command/").content.decode()
    assert zhaoqing.post(f"/joint-commands/{command.id}/log/", {"text": "我们也想写"}).status_code == 403


# --- sharing agreements --------------------------------------------------------------------------------


def test_a_coordinator_makes_an_agreement_and_it_widens_what_is_seen(browse_as, reported):
    incident = reported(SHENZHEN, level="IV", title="仅深圳可见的四级事件")
    zhaoqing = browse_as(ZHAOQING)
    assert zhaoqing.get(f"/incidents/{incident.public_id}/").status_code == 404
    coordinator = browse_as(GUANGZHOU, "coordinator")
    assert 'action="/agreements/"' in coordinator.get("/agreements/").content.decode()
    response = coordinator.post("/agreements/", {
        "name": "深圳—肇庆事件共享", "grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": ["incidents"],
        "level_at_least": "IV"})
    assert response.status_code == 302
    from sharing.visibility import reset_sharing_context

    reset_sharing_context()
    assert zhaoqing.get(f"/incidents/{incident.public_id}/").status_code == 200
    listing = zhaoqing.get("/agreements/").content.decode()
    assert "深圳—肇庆事件共享" in listing and ">肇庆市</td>" in listing and "长期有效" in listing


@pytest.mark.parametrize(("data", "field"), [
    ({"grantor": SHENZHEN, "grantees": [], "data_kinds": ["incidents"], "level_at_least": "IV"}, "grantees"),
    ({"grantor": SHENZHEN, "grantees": [SHENZHEN], "data_kinds": ["incidents"], "level_at_least": "IV"}, "grantees"),
    ({"grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": [], "level_at_least": "IV"}, "data_kinds"),
    ({"grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": ["gossip"], "level_at_least": "IV"}, "data_kinds"),
    ({"grantor": "999999", "grantees": [ZHAOQING], "data_kinds": ["incidents"], "level_at_least": "IV"}, "grantor"),
    ({"grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": ["incidents"], "level_at_least": "V"},
     "level_at_least"),
    ({"grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": ["incidents"], "level_at_least": "IV",
      "valid_from": "2027-01-02T00:00", "valid_until": "2027-01-01T00:00"}, "valid_until"),
])
def test_a_bad_agreement_is_answered_next_to_its_field(browse_as, data, field):
    from sharing.models import SharingAgreement

    response = browse_as(GUANGZHOU, "coordinator").post("/agreements/", data)
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not SharingAgreement.objects.exists()


def test_only_coordinators_make_or_end_agreements(browse_as):
    from sharing.models import SharingAgreement
    from sharing.services import agreement_create

    commander = browse_as(SHENZHEN, "commander")
    assert 'action="/agreements/"' not in commander.get("/agreements/").content.decode()
    data = {"grantor": SHENZHEN, "grantees": [ZHAOQING], "data_kinds": ["incidents"], "level_at_least": "IV"}
    assert commander.post("/agreements/", data).status_code == 403
    agreement = agreement_create(actor=None, grantor=SHENZHEN, grantees=[ZHAOQING], data_kinds=["incidents"])
    assert commander.post(f"/agreements/{agreement.id}/deactivate/").status_code == 403
    coordinator = browse_as(GUANGZHOU, "coordinator")
    assert coordinator.post(f"/agreements/{agreement.id}/deactivate/").status_code == 302
    assert SharingAgreement.objects.get().is_active is False


# --- alerts ---------------------------------------------------------------------------------------------


def test_alerts_are_listed_as_their_selector_allows_and_previewed_as_cap(browse_as, gba):
    from incidents.alerts import selectors
    from incidents.alerts.intake import alert_import
    from incidents.alerts.senders import cap_sender_register

    for sender in ("forecast@prd-weather.example.org", "warning@zhuhai-met.example.cn"):
        cap_sender_register(actor=None, pattern=sender, jurisdiction=ZHUHAI)
    zhuhai = browse_as(ZHUHAI, "commander")
    alert_import(actor=zhuhai.principal, document=(CAP_DATA / "pearl-river-delta-rain-forecast.xml").read_bytes())
    alert_import(actor=zhuhai.principal, document=(CAP_DATA / "zhuhai-typhoon-warning.xml").read_bytes())
    hidden_somewhere = False
    for code in GBA_CODES:
        client = browse_as(code, "viewer")
        shown = {view.alert.id for view in client.get("/alerts/").context["alerts"]}
        expected = set(selectors.alert_list_visible_to(principal=client.principal).values_list("id", flat=True))
        assert shown == expected, code
        hidden_somewhere |= len(shown) < 2
    assert hidden_somewhere, "the restricted alert is not seen everywhere: the comparison above means something"
    html = zhuhai.get("/alerts/").content.decode()
    assert "Heavy rain possible over the western Pearl River Delta" in html and ">演练<" in html
    alert = selectors.alert_list_visible_to(principal=zhuhai.principal).get(identifier="PRD-FCST-2024-0612-A")
    detail = zhuhai.get(f"/alerts/{alert.id}/").content.decode()
    # The CAP document itself, held for "Show the CAP document" and downloadable (the alert page).
    assert 'id="cap-preview"' in detail and "&lt;alert xmlns=&quot;urn:oasis:names:tc:emergency:cap:1.2&quot;" in detail
    assert f"/api/v1/alerts/{alert.id}/cap/" in detail
    assert zhuhai.get("/alerts/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_reporting_commander_opens_a_joint_command_and_directs_it(browse_as, reported, run_playbooks):
    from coordination.workflows.models import JointCommand, Task

    incident = reported(SHENZHEN, level="III", type="rainstorm", affected_area=cross_border_area())
    run_playbooks()  # level III: acknowledgements, but no joint command of the playbook's
    assert not JointCommand.objects.exists()
    page = f"/incidents/{incident.public_id}/"
    assert "/joint-command/" not in browse_as(DONGGUAN, "commander").get(page).content.decode()
    assert browse_as(DONGGUAN, "commander").post(page + "joint-command/", {}).status_code == 403
    commander = browse_as(SHENZHEN, "commander")
    assert f'action="/incidents/{incident.public_id}/joint-command/"' in commander.get(page).content.decode()
    response = commander.post(page + "joint-command/", {"name": "坪山暴雨联合指挥部"}, follow=True)
    assert "联合指挥部已成立" in response.content.decode()
    command = JointCommand.objects.get()
    assert command.name == "坪山暴雨联合指挥部" and sorted(command.participant_codes) == [SHENZHEN, DONGGUAN]
    response = commander.post(f"/joint-commands/{command.id}/tasks/", {"title": "", "assignee": ZHAOQING})
    assert response.status_code == 400 and {"title", "assignee"} <= response.context["commands"][0][
        "task_form"].errors.keys()
    assert commander.post(f"/joint-commands/{command.id}/tasks/", {"title": "封闭深莞交界道路",
                                                                  "assignee": DONGGUAN}).status_code == 302
    assert Task.objects.get().assignee_id == DONGGUAN
    assert browse_as(DONGGUAN, "commander").post(f"/joint-commands/{command.id}/close/").status_code == 403
    assert commander.post(f"/joint-commands/{command.id}/close/").status_code == 302
    command.refresh_from_db()
    assert command.status == "closed"


def test_a_commander_convenes_a_joint_meeting_and_records_its_outcome(browse_as, reported, run_playbooks):
    from coordination.workflows.models import Meeting

    incident = reported(SHENZHEN, level="III", type="rainstorm", affected_area=cross_border_area())
    run_playbooks()
    commander = browse_as(SHENZHEN, "commander")
    page = f"/incidents/{incident.public_id}/"
    when = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = commander.post(page + "meetings/", {"title": "", "scheduled_at": when, "agenda": "\n \n"})
    assert response.status_code == 400 and {"title", "agenda"} <= response.context["forms"].meeting.errors.keys()
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = commander.post(page + "meetings/", {"title": "暴雨会商", "scheduled_at": past, "agenda": "排涝"})
    assert response.status_code == 400 and "scheduled_at" in response.context["forms"].meeting.errors
    assert browse_as(SHENZHEN, "operator").post(page + "meetings/", {
        "title": "暴雨会商", "scheduled_at": when, "agenda": "排涝"}).status_code == 403
    response = commander.post(page + "meetings/", {"title": "深莞暴雨会商", "scheduled_at": when,
                                                   "agenda": "排涝与交通\n跨界转移安置"})
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert [item.title for item in meeting.agenda.all()] == ["排涝与交通", "跨界转移安置"]
    dongguan_page = browse_as(DONGGUAN, "commander").get("/command/").content.decode()
    assert "深莞暴雨会商" in dongguan_page and f"/meetings/{meeting.id}/decisions/" not in dongguan_page
    assert commander.post(f"/meetings/{meeting.id}/decisions/", {"text": "", "agenda_item": "9"}).status_code == 400
    assert commander.post(f"/meetings/{meeting.id}/decisions/", {"text": "东莞开放三处避难场所",
                                                                 "agenda_item": "2"}).status_code == 302
    assert meeting.decisions.get().agenda_item.title == "跨界转移安置"
    commander.post(f"/meetings/{meeting.id}/close/", {"status": "held"})
    meeting.refresh_from_db()
    assert meeting.status == "held"
    response = commander.post(f"/meetings/{meeting.id}/close/", {"status": "cancelled"}, follow=True)
    assert "already" in response.content.decode()
