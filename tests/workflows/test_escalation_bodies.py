"""Escalation goes up, never back to the reporter, and a coordination body answers through its
officers (issue 19, "the duty room"; issue 20 needs the body's officers too).

The scenario: Shenzhen reports a level III flood on its border with Dongguan; Dongguan does not
answer. Shenzhen is also the lead city of Dongguan's circle (深莞惠), so the chain passes it over
(it would be asked to acknowledge its own incident in Dongguan's place) and goes to the cluster
committee, which the demo registry gives no convener: an officer seated on the committee sees
what was escalated to it, in the dashboard and the API, and acknowledges it for the body. An
officer of the same jurisdiction who is not seated sees nothing of it.

The chain rule (escalation.chain_stages) is tested on its own first, without a database. The
scenario runs in-process (both databases), then with real Celery workers on PostgreSQL.
"""

from datetime import timedelta
from itertools import product

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from coordination.bodies import body_member_add, body_member_members, body_member_remove
from coordination.models import AuditEntry
from coordination.workflows.escalation import Skip, Stage, chain_stages
from coordination.workflows.models import Acknowledgement, AckStatus, Escalation, WorkflowRun
from incidents.models import TimelineEntry
from tests.conftest import DONGGUAN, GBA_CODES, GUANGZHOU, HUIZHOU, SHENZHEN
from tests.workflows.conftest import deliver, drive, wait_for
from ui.timeline import note_text

COMMITTEE = "GBA-COMMITTEE"
GUANGDONG = "440000"  # the province: in no cluster, so it sees nothing of a city's incident by default
FLOOD_PLAYBOOK = "cross-border-flood-typhoon"

# Near the Shenzhen-Dongguan border on the demo map (as scripts/check_services.py reports it).
BORDER_FLOOD = {
    "title": "Flood on the Shenzhen-Dongguan border",
    "category": "natural_disaster",
    "type": "flood",
    "level": "III",
    "location": {"lat": 22.70, "lon": 113.95},
    "affected_area": {"type": "Polygon", "coordinates": [[
        [113.85, 22.65], [114.05, 22.65], [114.05, 22.85], [113.85, 22.85], [113.85, 22.65],
    ]]},
}

# The demo cluster's chain as a run freezes it (escalation.freeze_chain), cut to what matters.
CHAIN = {
    "cluster": "GBA",
    "circle_leads": {SHENZHEN: SHENZHEN, DONGGUAN: SHENZHEN, HUIZHOU: SHENZHEN, GUANGZHOU: GUANGZHOU,
                     "820000": None},
    "committee": {"code": COMMITTEE, "convener": None, "members": sorted(GBA_CODES)},
}


# --- the chain rule ---------------------------------------------------------------------------------


def test_the_reporting_circle_lead_is_passed_over_for_the_committee():
    assert chain_stages(CHAIN, DONGGUAN, reporter=SHENZHEN) == [
        Stage("duty_officers", DONGGUAN, None),
        Stage("committee", None, COMMITTEE, (Skip("circle_lead", SHENZHEN, "reporter"),)),
    ]


def test_a_circle_lead_that_did_not_report_is_asked():
    assert chain_stages(CHAIN, DONGGUAN, reporter=HUIZHOU) == [
        Stage("duty_officers", DONGGUAN, None),
        Stage("circle_lead", SHENZHEN, None),
        Stage("committee", None, COMMITTEE),
    ]


def test_the_silent_lead_itself_is_passed_over_and_the_skip_said():
    assert chain_stages(CHAIN, SHENZHEN, reporter=HUIZHOU) == [
        Stage("duty_officers", SHENZHEN, None),
        Stage("committee", None, COMMITTEE, (Skip("circle_lead", SHENZHEN, "addressee"),)),
    ]


def test_a_convener_that_reported_is_dropped_and_the_body_stays():
    chain = {**CHAIN, "committee": {**CHAIN["committee"], "convener": GUANGZHOU}}
    assert chain_stages(chain, DONGGUAN, reporter=GUANGZHOU)[-1] == Stage(
        "committee", None, COMMITTEE, (Skip("committee", GUANGZHOU, "reporter"),))
    assert chain_stages(chain, DONGGUAN, reporter=HUIZHOU)[-1] == Stage("committee", GUANGZHOU, COMMITTEE)


def test_no_stage_ever_asks_the_reporter_or_the_silent_one_in_anothers_place():
    chain = {**CHAIN, "committee": {**CHAIN["committee"], "convener": SHENZHEN}}
    for code, reporter in product([*CHAIN["circle_leads"], "999999"], repeat=2):
        stages = chain_stages(chain, code, reporter=reporter)
        assert stages[0] == Stage("duty_officers", code, None)  # its own officers, first
        assert all(stage.jurisdiction not in (code, reporter) for stage in stages[1:]), (code, reporter, stages)
        assert stages[-1].body == COMMITTEE


# --- the scenario, in-process -----------------------------------------------------------------------


@pytest.fixture
def seated(make_officer):
    """A Guangdong province officer seated on the cluster committee, and one who is not."""
    member = make_officer("committee-gd", GUANGDONG, "operator")
    outsider = make_officer("outsider-gd", GUANGDONG, "operator")
    assert body_member_add(body=COMMITTEE, username="committee-gd")
    return member, outsider


@pytest.fixture
def border_flood(playbooks, principal_for, clock):
    from incidents.services import incident_report

    data = {**BORDER_FLOOD, "occurred_at": timezone.now() - timedelta(minutes=10)}
    incident = incident_report(actor=principal_for(SHENZHEN, role="commander"), data=data).incident
    deliver()
    drive(clock.now)
    return incident


def dongguan_ack(incident) -> Acknowledgement:
    run = WorkflowRun.objects.get(incident_id=incident.public_id, playbook__code=FLOOD_PLAYBOOK)
    return run.acknowledgements.get(jurisdiction_id=DONGGUAN, escalation_of__isnull=True)


def notes(incident) -> list[dict]:
    return [entry.data for entry in TimelineEntry.objects.filter(incident=incident).order_by("at", "id")
            if entry.data.get("code")]


def browser(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def api_for(user):
    from rest_framework.test import APIClient

    from coordination.services import officer_token_issue

    raw, _ = officer_token_issue(username=user.username, password="pw-Secret-123", ip="127.0.0.1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def assert_stage_two_is_the_committee_with_shenzhen_passed_over(incident, ack) -> Escalation:
    raised = list(Escalation.objects.filter(acknowledgement=ack).order_by("stage"))
    assert [(e.stage, e.target, e.target_jurisdiction_id, e.target_body_id) for e in raised] == [
        (1, "duty_officers", DONGGUAN, None), (2, "committee", None, COMMITTEE)]
    assert not Acknowledgement.objects.filter(escalation_of=ack).exists()  # nobody asked in Dongguan's place
    assert not Escalation.objects.filter(incident_id=incident.public_id, target_jurisdiction=SHENZHEN,
                                         target="circle_lead").exists()
    codes = [note["code"] for note in notes(incident)]
    skipped = codes.index("escalation.skipped_circle_lead_reporter")
    assert codes[skipped + 1] == "escalation.committee"  # said just before the stage it led to
    assert notes(incident)[skipped]["params"] == {"jurisdiction": SHENZHEN}
    audit = AuditEntry.objects.get(action="escalation.raised", object_id=str(raised[1].id))
    assert audit.detail["skipped"] == [{"target": "circle_lead", "jurisdiction": SHENZHEN, "why": "reporter"}]
    return raised[1]


def test_dongguan_silent_the_committee_officer_sees_and_acknowledges_in_the_dashboard(border_flood, seated):
    member, outsider = seated
    ack = dongguan_ack(border_flood)
    drive(ack.due_at + timedelta(seconds=2))
    drive(ack.due_at + timedelta(hours=3))
    assert_stage_two_is_the_committee_with_shenzhen_passed_over(border_flood, ack)
    # The skip, in the reader's language, from its code and parameters.
    skip = next(note for note in notes(border_flood) if note["code"].startswith("escalation.skipped"))
    with translation.override("zh-hans"):
        assert note_text(skip["code"], skip["params"]).startswith("深圳市是都市圈牵头城市，但本事件由其报告")
    with translation.override("en"):
        assert note_text(skip["code"], skip["params"]) == (
            "Shenzhen, lead city of the metropolitan circle, is not asked: it reported the incident; "
            "escalation goes on to the next stage.")
    page = browser(member, "zh-hans").get(reverse("ui:owed")).content.decode()
    assert f'id="ack-{ack.id}"' in page and "代粤港澳大湾区应急管理联席会议确认收到" in page
    assert f'id="ack-{ack.id}"' not in browser(outsider).get(reverse("ui:owed")).content.decode()

    response = browser(member).post(reverse("ui:acknowledge", args=[ack.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="ack-{ack.id}"' not in response.content.decode()
    ack.refresh_from_db()
    assert (ack.status, ack.acknowledged_by, ack.next_check_at) == (AckStatus.ACKNOWLEDGED, "committee-gd", None)
    answered = [note for note in notes(border_flood) if note["code"].startswith("ack.received")]
    assert answered == [{"code": "ack.received_for_body", "params": {"body": COMMITTEE, "jurisdiction": DONGGUAN}}]
    entry = AuditEntry.objects.get(action="acknowledgement.received", object_id=str(ack.id))
    assert (entry.actor, entry.actor_jurisdiction, entry.detail["for_body"]) == ("committee-gd", GUANGDONG,
                                                                                 COMMITTEE)
    drive(ack.due_at + timedelta(hours=6))
    assert Escalation.objects.filter(acknowledgement=ack).count() == 2  # nothing after the answer


def test_the_committee_officer_acts_through_the_api_and_an_unseated_one_sees_nothing(border_flood, seated,
                                                                                    api_as, make_officer):
    member, outsider = seated
    ack = dongguan_ack(border_flood)
    drive(ack.due_at + timedelta(seconds=2))
    outsider_api, member_api = api_for(outsider), api_for(member)
    # Before the committee stage, the province sees nothing: the rule opens on the escalation.
    assert member_api.get(f"/api/v1/acknowledgements/{ack.id}/").status_code == 404
    drive(ack.due_at + timedelta(hours=3))
    escalation = Escalation.objects.get(acknowledgement=ack, target="committee")

    listed = member_api.get(f"/api/v1/acknowledgements/?addressee={COMMITTEE}").json()["results"]
    assert [item["id"] for item in listed] == [str(ack.id)]
    assert str(escalation.id) in {item["id"] for item in member_api.get("/api/v1/escalations/").json()["results"]}
    # Not seated: the same jurisdiction, the same role, nothing to see or answer.
    assert outsider_api.get(f"/api/v1/acknowledgements/{ack.id}/").status_code == 404
    assert outsider_api.get(f"/api/v1/acknowledgements/?addressee={COMMITTEE}").json()["count"] == 0
    assert outsider_api.get("/api/v1/escalations/").json()["count"] == 0
    assert outsider_api.post(f"/api/v1/acknowledgements/{ack.id}/ack/").status_code == 404
    # A jurisdiction that sees the request but sits on no body it went to may still not answer it.
    assert api_as(HUIZHOU, role="operator").post(f"/api/v1/acknowledgements/{ack.id}/ack/").status_code in (403, 404)
    # A committee officer of Shenzhen, the reporter, sees it but does not answer for the body.
    reporter_member = make_officer("committee-sz", SHENZHEN, "operator")
    body_member_add(body=COMMITTEE, username="committee-sz")
    reporter_api = api_for(reporter_member)
    assert reporter_api.get(f"/api/v1/acknowledgements/{ack.id}/").status_code == 200
    assert reporter_api.post(f"/api/v1/acknowledgements/{ack.id}/ack/").status_code == 403
    assert f'id="ack-{ack.id}"' not in browser(reporter_member).get(reverse("ui:owed")).content.decode()

    response = member_api.post(f"/api/v1/acknowledgements/{ack.id}/ack/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "acknowledged" and response.json()["acknowledged_by"] == "committee-gd"
    # Dongguan owes it no more: the committee answered in its place.
    assert api_as(DONGGUAN, role="operator").get("/api/v1/acknowledgements/?status=pending").json()["count"] == 0


def test_seating_and_unseating_an_officer(seated, make_officer):
    from django.core.management import call_command

    from config.errors import ValidationFailed

    assert body_member_members(body=COMMITTEE) == [("committee-gd", GUANGDONG, "operator")]
    assert not body_member_add(body=COMMITTEE, username="committee-gd")  # already seated
    make_officer("sz-duty", SHENZHEN)
    call_command("body_member", COMMITTEE, "sz-duty")
    assert [row[0] for row in body_member_members(body=COMMITTEE)] == ["committee-gd", "sz-duty"]
    call_command("body_member", COMMITTEE, "sz-duty", "--remove")
    assert not body_member_remove(body=COMMITTEE, username="sz-duty")
    with pytest.raises(ValidationFailed):
        body_member_add(body="NO-SUCH-BODY", username="committee-gd")
    assert AuditEntry.objects.filter(action="body_member.added").count() == 2


# --- the scenario with real Celery workers ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_with_workers_the_committee_officer_answers_for_silent_dongguan(playbooks, principal_for, make_officer,
                                                                        workers):
    from incidents.services import incident_report

    member = make_officer("committee-gd", GUANGDONG, "operator")
    body_member_add(body=COMMITTEE, username="committee-gd")
    workers.start("a")
    data = {**BORDER_FLOOD, "occurred_at": timezone.now() - timedelta(minutes=10)}
    incident = incident_report(actor=principal_for(SHENZHEN, role="commander"), data=data).incident
    deliver()
    committee = wait_for(lambda: Escalation.objects.filter(incident_id=incident.public_id,
                                                           acknowledgement__jurisdiction=DONGGUAN,
                                                           target="committee").first(),
                         timeout=60, what="Dongguan's silence to reach the committee", workers=workers)
    ack = committee.acknowledgement
    assert_stage_two_is_the_committee_with_shenzhen_passed_over(incident, ack)
    member_api = api_for(member)
    owed = member_api.get(f"/api/v1/acknowledgements/?addressee={COMMITTEE}&status=pending").json()["results"]
    assert [item["id"] for item in owed] == [str(ack.id)]
    assert member_api.post(f"/api/v1/acknowledgements/{ack.id}/ack/").status_code == 200
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.next_check_at is None
    wait_for(lambda: WorkflowRun.objects.get(pk=ack.run_id).state == "completed", timeout=60,
             what="the run to complete", workers=workers)
    assert Escalation.objects.filter(acknowledgement=ack).count() == 2
