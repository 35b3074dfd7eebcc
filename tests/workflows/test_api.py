"""The coordination API: playbooks, runs, acknowledgements, escalations, joint commands, tasks
and meetings, as city systems and officers of different jurisdictions see them."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.workflows.models import Acknowledgement, AckStatus, Escalation, Task, WorkflowRun
from sharing.models import Event
from tests.conftest import GUANGZHOU, HONG_KONG, HUIZHOU, JIANGMEN, MACAO, SHENZHEN, ZHONGSHAN, ZHUHAI
from tests.workflows.conftest import deliver, drive

pytestmark = pytest.mark.django_db

FLOOD = "cross-border-flood-typhoon"


@pytest.fixture
def flood(playbooks, report, clock):
    """A level II typhoon reported by Zhuhai, touching Zhongshan and Macao, its run under way:
    affected notified and asked, joint command open, committee meeting convened."""
    incident = report()
    deliver()
    drive(clock.now)
    return incident


def run_of(incident) -> WorkflowRun:
    return WorkflowRun.objects.get(incident_id=incident.public_id)


def problem(response, status_code: int) -> dict:
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


# --- playbooks ---------------------------------------------------------------------------------


def test_it_lists_the_playbooks_in_force_with_triggers_and_steps(playbooks, api_as, django_assert_num_queries):
    client = api_as(SHENZHEN)
    client.get("/api/v1/playbooks/")
    with django_assert_num_queries(2):  # count, page
        body = client.get("/api/v1/playbooks/").json()
    assert [p["code"] for p in body["results"]] == sorted(playbooks)
    flood = next(p for p in body["results"] if p["code"] == FLOOD)
    assert flood["trigger"]["types"] == ["flood", "rainstorm", "typhoon", "storm_surge"]
    assert [s["kind"] for s in flood["steps"]][:2] == ["notify", "request_ack"]


def test_the_list_is_of_the_playbooks_in_force(playbooks, api_as):
    from coordination.workflows.services.playbooks import playbook_update

    playbook_update(actor=None, playbook=playbooks["epidemic-cluster-cities"], is_active=False)
    client = api_as(SHENZHEN)
    assert "epidemic-cluster-cities" not in [p["code"] for p in client.get("/api/v1/playbooks/").json()["results"]]
    inactive = client.get("/api/v1/playbooks/?active=false").json()["results"]
    assert [p["code"] for p in inactive] == ["epidemic-cluster-cities"]


def test_playbooks_of_another_cluster_are_not_listed(playbooks, api_as):
    from coordination.models import Jurisdiction

    Jurisdiction.objects.create(code="110000", name_zh="北京市", name_en="Beijing", level="province").clusters.add(
        "JJJ")
    assert api_as("110000").get("/api/v1/playbooks/").json()["results"] == []
    problem(api_as("110000").get(f"/api/v1/playbooks/{FLOOD}/"), 404)


def definition(**trigger) -> dict:
    return {"trigger": {"categories": ["accident"], "types": ["fire"], "clusters": ["GBA"], **trigger},
            "steps": [{"kind": "notify", "to": ["affected"]}]}


def test_a_coordinator_creates_and_edits_a_playbook(playbooks, api_as):
    client = api_as(SHENZHEN, role="coordinator")
    response = client.post("/api/v1/playbooks/", {"code": "factory-fire", "name_zh": "工厂火灾",
                                                  "name_en": "Factory fire", "definition": definition()},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == 1 and body["steps"][0]["id"] == "1-notify"  # defaults written out
    response = client.patch("/api/v1/playbooks/factory-fire/", {"definition": definition(level_at_least="II")},
                            format="json")
    assert response.json()["version"] == 2 and response.json()["trigger"]["level_at_least"] == "II"
    assert client.patch("/api/v1/playbooks/factory-fire/", {"name_en": "Factory fire"},
                        format="json").json()["version"] == 2  # nothing changed


@pytest.mark.parametrize("bad, path, message", [
    ({"trigger": {}, "steps": []}, "definition.steps", "at least 1 item"),
    ({"steps": [{"kind": "notify", "to": ["affected"]}]}, "definition.trigger", "Field required"),
    ({**definition(), "steps": [{"kind": "teleport"}]}, "definition.steps.0", "kind"),
    ({**definition(), "steps": [{"kind": "notify", "to": ["everyone"]}]}, "definition.steps.0.to.0", "affected"),
    ({**definition(), "steps": [{"kind": "request_ack", "from": ["affected"],
                                 "deadline": {"I": "2h", "II": "1h", "III": "1h", "IV": "1h"}}]},
     "definition.steps.0.deadline", "the more severe the level, the shorter"),
    ({**definition(), "steps": [{"kind": "wait", "duration": "soon"}]}, "definition.steps.0.duration",
     "not a duration"),
    ({**definition(), "steps": [{"kind": "wait"}]}, "definition.steps.0", "either a duration or an until"),
    ({**definition(), "steps": [{"kind": "notify", "to": ["affected"], "colour": "red"}]},
     "definition.steps.0.colour", "Extra inputs are not permitted"),
    (definition(types=["flood"]), "definition.trigger", "not types of the categories accident"),
    (definition(clusters=["NOPE"]), "definition.trigger.clusters", "Unknown clusters: NOPE"),
    ({**definition(), "steps": [{"id": "a", "kind": "notify", "to": ["affected"]},
                                {"id": "a", "kind": "notify", "to": ["neighbours"]}]},
     "definition", "step id 'a' is used twice"),
    ("not an object", "definition", "JSON object"),
])
def test_a_bad_definition_is_refused_with_the_reason(playbooks, api_as, bad, path, message):
    client = api_as(SHENZHEN, role="coordinator")
    body = problem(client.post("/api/v1/playbooks/", {"code": "bad", "name_zh": "坏", "name_en": "Bad",
                                                      "definition": bad}, format="json"), 400)
    assert path in body["errors"], body
    assert any(message in text for text in body["errors"][path]), body


@pytest.mark.parametrize("who, status_code", [
    ({"role": "commander"}, 403),
    ({"scopes": None}, 403),  # a city system: coordinators only
])
def test_only_coordinators_write_playbooks(playbooks, api_as, who, status_code):
    client = api_as(SHENZHEN, **who)
    problem(client.post("/api/v1/playbooks/", {"code": "x", "name_zh": "x", "name_en": "x",
                                               "definition": definition()}, format="json"), status_code)
    problem(client.patch(f"/api/v1/playbooks/{FLOOD}/", {"name_en": "x"}, format="json"), status_code)


def test_coordinators_cannot_write_playbooks_for_other_clusters_or_every_cluster(playbooks, api_as):
    client = api_as(SHENZHEN, role="coordinator")
    problem(client.post("/api/v1/playbooks/", {"code": "x", "name_zh": "x", "name_en": "x",
                                               "definition": definition(clusters=["YRD"])}, format="json"), 403)
    problem(client.post("/api/v1/playbooks/", {"code": "x", "name_zh": "x", "name_en": "x",
                                               "definition": definition(clusters=[])}, format="json"), 403)


def test_a_playbook_code_is_used_once(playbooks, api_as):
    client = api_as(SHENZHEN, role="coordinator")
    problem(client.post("/api/v1/playbooks/", {"code": FLOOD, "name_zh": "x", "name_en": "x",
                                               "definition": definition()}, format="json"), 409)


def test_a_bad_edit_changes_nothing(playbooks, api_as):
    client = api_as(SHENZHEN, role="coordinator")
    broken = copy.deepcopy(playbooks[FLOOD].definition)
    broken["steps"][1]["deadline"]["I"] = "5h"
    problem(client.patch(f"/api/v1/playbooks/{FLOOD}/", {"definition": broken}, format="json"), 400)
    problem(client.patch(f"/api/v1/playbooks/{FLOOD}/", {"code": "renamed"}, format="json"), 400)
    playbooks[FLOOD].refresh_from_db()
    assert playbooks[FLOOD].version == 1


# --- runs ----------------------------------------------------------------------------------------


def test_it_lists_an_incidents_runs_with_their_steps(flood, api_as, django_assert_num_queries):
    client = api_as(MACAO)
    client.get("/api/v1/workflow-runs/")
    with django_assert_num_queries(3):  # count, page of runs (with incident and playbook), their steps
        body = client.get(f"/api/v1/workflow-runs/?incident={flood.public_id}").json()
    (run,) = body["results"]
    assert run["playbook"] == FLOOD and run["state"] == "running" and run["level"] == "II"
    steps = run["steps"]
    assert [s["id"] for s in steps][:3] == ["warn", "acknowledge", "tell-core-cities"]
    assert steps[0]["state"] == "done" and steps[0]["done_at"] and steps[0]["outcome"]["notified"]
    assert {"kind", "state", "due_at", "done_at", "outcome"} <= set(steps[0])


def test_run_list_queries_do_not_grow_with_the_runs(playbooks, report, api_as, django_assert_num_queries, clock):
    for n in range(3):
        report(title=f"Typhoon {n}")
    deliver()
    client = api_as(ZHONGSHAN)
    client.get("/api/v1/workflow-runs/")
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/workflow-runs/").json()["results"]) == 3


def test_a_run_is_seen_as_its_incident_is(playbooks, report, api_as, clock):
    incident = report(level="III")  # level III: the reporter's neighbours and the core cities
    deliver()
    drive(clock.now)
    run = run_of(incident)
    assert api_as(JIANGMEN).get(f"/api/v1/workflow-runs/{run.id}/").status_code == 200  # a neighbour, notified
    assert api_as(GUANGZHOU).get(f"/api/v1/workflow-runs/{run.id}/").status_code == 200  # a core city
    problem(api_as(HUIZHOU).get(f"/api/v1/workflow-runs/{run.id}/"), 404)
    assert api_as(HUIZHOU).get(f"/api/v1/workflow-runs/?incident={incident.public_id}").json()["results"] == []
    problem(api_as(HUIZHOU).get("/api/v1/workflow-runs/not-a-uuid/"), 404)


def test_a_coordinator_pauses_resumes_and_cancels_a_run(flood, api_as):
    run = run_of(flood)
    client = api_as(GUANGZHOU, role="coordinator")
    before = Acknowledgement.objects.get(run=run, jurisdiction=MACAO)
    assert client.post(f"/api/v1/workflow-runs/{run.id}/pause/").json()["state"] == "paused"
    assert client.post(f"/api/v1/workflow-runs/{run.id}/pause/").json()["state"] == "paused"  # no change
    assert client.post(f"/api/v1/workflow-runs/{run.id}/resume/").json()["state"] == "running"
    after = Acknowledgement.objects.get(pk=before.pk)
    assert after.due_at >= before.due_at and after.token != before.token
    response = client.post(f"/api/v1/workflow-runs/{run.id}/cancel/", {"reason": "exercise over"}, format="json")
    assert response.json()["state"] == "cancelled" and response.json()["ended_reason"] == "exercise over"
    assert not Acknowledgement.objects.filter(run=run, status=AckStatus.PENDING).exists()
    problem(client.post(f"/api/v1/workflow-runs/{run.id}/resume/"), 409)
    # In the order written (the primary key): `seq`, the model's ordering, is NULL until the
    # dispatcher numbers the rows, and NULLs come back in any order.
    written = Event.objects.filter(name__in=["workflow.paused", "workflow.resumed", "workflow.cancelled"])
    assert list(written.order_by("pk").values_list("name", flat=True)) == [
        "workflow.paused", "workflow.resumed", "workflow.cancelled"]


@pytest.mark.parametrize("who", [{"role": "commander"}, {"scopes": None}])
def test_only_coordinators_control_runs(flood, api_as, who):
    run = run_of(flood)
    problem(api_as(ZHUHAI, **who).post(f"/api/v1/workflow-runs/{run.id}/pause/"), 403)


def test_a_commander_of_the_reporter_approves_the_alert_step(flood, api_as, principal_for, clock):
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

    run = run_of(flood)
    for code in (ZHONGSHAN, MACAO):
        acknowledgement_acknowledge(actor=principal_for(code, role="operator"),
                                    acknowledgement_id=Acknowledgement.objects.get(run=run, jurisdiction=code).id)
    drive(clock.advance(minutes=1))
    step = run.steps.get(step_id="public-alert")
    problem(api_as(ZHONGSHAN, role="commander").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                     {"step": step.index}, format="json"), 403)
    problem(api_as(ZHUHAI, role="operator").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                 {"step": step.index}, format="json"), 403)
    problem(api_as(ZHUHAI, role="commander").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                  {"step": 0}, format="json"), 400)
    problem(api_as(ZHUHAI, role="commander").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                  {"step": "x"}, format="json"), 400)
    response = api_as(ZHUHAI, role="commander").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                     {"step": step.index}, format="json")
    assert response.status_code == 200, response.json()
    approved = next(s for s in response.json()["steps"] if s["id"] == "public-alert")
    assert approved["state"] == "done" and approved["outcome"]["approved"] is True
    from incidents.alerts.models import Alert

    alert = Alert.objects.get(pk=approved["outcome"]["alert"])
    assert alert.state == "active" and alert.incident.public_id == flood.public_id
    assert Event.objects.filter(name="alert.issued", payload__id=str(alert.pk)).exists()
    problem(api_as(ZHUHAI, role="commander").post(f"/api/v1/workflow-runs/{run.id}/approve/",
                                                  {"step": step.index}, format="json"), 409)


# --- acknowledgements ----------------------------------------------------------------------------------


def test_it_lists_what_the_callers_jurisdiction_is_asked_to_acknowledge(flood, api_as,
                                                                        django_assert_num_queries):
    client = api_as(MACAO)
    client.get("/api/v1/acknowledgements/")
    with django_assert_num_queries(2):  # count, page (with incident and run)
        body = client.get("/api/v1/acknowledgements/?status=pending").json()
    (ack,) = body["results"]
    assert ack["jurisdiction"] == MACAO and ack["incident"] == flood.public_id and ack["due_at"]
    assert ack["status"] == "pending" and ack["overdue"] is False
    everyone = api_as(ZHUHAI).get("/api/v1/acknowledgements/?addressee=any").json()["results"]
    assert sorted(a["jurisdiction"] for a in everyone) == [ZHONGSHAN, MACAO]
    assert api_as(ZHUHAI).get("/api/v1/acknowledgements/").json()["results"] == []  # none asked of Zhuhai
    assert api_as(ZHUHAI).get(f"/api/v1/acknowledgements/?addressee={MACAO}").json()["count"] == 1


def test_an_officer_or_a_system_with_ack_acknowledges_for_its_own_jurisdiction(flood, api_as):
    ack = Acknowledgement.objects.get(jurisdiction=MACAO)
    response = api_as(MACAO, scopes=["read", "ack"]).post(f"/api/v1/acknowledgements/{ack.id}/ack/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"].startswith("system-820000")
    again = api_as(MACAO, role="operator").post(f"/api/v1/acknowledgements/{ack.id}/ack/")
    assert again.status_code == 200 and again.json()["acknowledged_at"] == body["acknowledged_at"]
    assert Event.objects.filter(name="acknowledgement.received").count() == 1


@pytest.mark.parametrize("who, status_code", [
    ({"jurisdiction": MACAO, "scopes": ["read"]}, 403),  # no ack scope
    ({"jurisdiction": MACAO, "role": "viewer"}, 403),
    ({"jurisdiction": ZHONGSHAN, "role": "operator"}, 403),  # sees it, but it is Macao's to answer
    ({"jurisdiction": HUIZHOU, "role": "operator"}, 403),  # level II: all GBA sees; not Huizhou's either
])
def test_nobody_acknowledges_for_another_jurisdiction(flood, api_as, who, status_code):
    ack = Acknowledgement.objects.get(jurisdiction=MACAO)
    jurisdiction = who.pop("jurisdiction")
    problem(api_as(jurisdiction, **who).post(f"/api/v1/acknowledgements/{ack.id}/ack/"), status_code)
    ack.refresh_from_db()
    assert ack.status == AckStatus.PENDING


def test_an_unknown_or_invisible_acknowledgement_is_a_404(playbooks, report, api_as, clock):
    incident = report(level="III")
    deliver()
    drive(clock.now)
    ack = Acknowledgement.objects.get(incident_id=incident.public_id, jurisdiction=MACAO)
    problem(api_as(HUIZHOU, role="operator").post(f"/api/v1/acknowledgements/{ack.id}/ack/"), 404)
    problem(api_as(MACAO).post("/api/v1/acknowledgements/5f1b7c1e-0000-4000-8000-000000000000/ack/"), 404)
    problem(api_as(MACAO).post("/api/v1/acknowledgements/nope/ack/"), 404)


def test_a_withdrawn_request_cannot_be_acknowledged(flood, api_as):
    run = run_of(flood)
    api_as(GUANGZHOU, role="coordinator").post(f"/api/v1/workflow-runs/{run.id}/cancel/")
    ack = Acknowledgement.objects.get(jurisdiction=MACAO)
    problem(api_as(MACAO).post(f"/api/v1/acknowledgements/{ack.id}/ack/"), 409)


def test_escalations_are_listed_with_their_targets(flood, api_as, clock):
    ack = Acknowledgement.objects.get(jurisdiction=MACAO)
    drive(ack.due_at + timedelta(seconds=1))
    body = api_as(SHENZHEN).get(f"/api/v1/escalations/?incident={flood.public_id}").json()
    assert {(e["subject_jurisdiction"], e["target"]) for e in body["results"]} == {
        (MACAO, "duty_officers"), (ZHONGSHAN, "duty_officers")}
    overdue = api_as(MACAO).get("/api/v1/acknowledgements/?overdue=true").json()["results"]
    assert overdue[0]["overdue"] is True and overdue[0]["escalation_stage"] == 1


# --- joint command and tasks -----------------------------------------------------------------------


def test_the_joint_command_shows_lead_participants_tasks_and_log(flood, api_as, django_assert_num_queries):
    client = api_as(ZHONGSHAN, role="operator")
    client.get("/api/v1/joint-commands/")
    with django_assert_num_queries(4):  # count, page (with incident), their log, their tasks
        (command,) = client.get("/api/v1/joint-commands/").json()["results"]
    assert command["lead"] == ZHUHAI and command["participants"] == sorted([ZHUHAI, ZHONGSHAN, MACAO])
    assert len(command["tasks"]) == 4
    response = client.post(f"/api/v1/joint-commands/{command['id']}/log/", {"text": "Zhongshan shelters open"},
                           format="json")
    assert response.status_code == 201 and response.json()["author_jurisdiction"] == ZHONGSHAN
    problem(client.post(f"/api/v1/joint-commands/{command['id']}/log/", {"text": " "}, format="json"), 400)
    problem(api_as(SHENZHEN, role="operator").post(f"/api/v1/joint-commands/{command['id']}/log/",
                                                   {"text": "hello"}, format="json"), 403)


def test_the_lead_assigns_tasks_to_participants_only(flood, api_as):
    command = api_as(ZHUHAI).get("/api/v1/joint-commands/").json()["results"][0]
    lead = api_as(ZHUHAI, role="commander")
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    response = lead.post(f"/api/v1/joint-commands/{command['id']}/tasks/",
                         {"title": "Open the Hengqin shelter", "assignee": MACAO, "due_at": due}, format="json")
    assert response.status_code == 201 and response.json()["assignee"] == MACAO
    body = problem(lead.post(f"/api/v1/joint-commands/{command['id']}/tasks/",
                             {"title": "x", "assignee": HONG_KONG}, format="json"), 400)
    assert "assignee" in body["errors"]
    problem(lead.post(f"/api/v1/joint-commands/{command['id']}/tasks/", {"assignee": MACAO}, format="json"), 400)
    problem(api_as(ZHONGSHAN, role="commander").post(f"/api/v1/joint-commands/{command['id']}/tasks/",
                                                     {"title": "x", "assignee": MACAO}, format="json"), 403)


def test_opening_a_joint_command_twice_answers_the_open_one(flood, api_as):
    client = api_as(ZHUHAI, role="commander")
    response = client.post("/api/v1/joint-commands/", {"incident": flood.public_id}, format="json")
    assert response.status_code == 200
    problem(client.post("/api/v1/joint-commands/", {"incident": "INC-1999-000001"}, format="json"), 400)
    problem(client.post("/api/v1/joint-commands/", {"incident": flood.public_id, "participants": ["999999"]},
                        format="json"), 400)


def test_the_assignee_moves_its_task_along(flood, api_as):
    task = Task.objects.filter(assignee=MACAO).first()
    client = api_as(MACAO, role="operator")
    assert client.post(f"/api/v1/tasks/{task.id}/transition/", {"status": "in_progress"},
                       format="json").json()["status"] == "in_progress"
    problem(client.post(f"/api/v1/tasks/{task.id}/transition/", {"status": "open"}, format="json"), 409)
    problem(client.post(f"/api/v1/tasks/{task.id}/transition/", {"status": "finished"}, format="json"), 400)
    problem(api_as(ZHONGSHAN, role="operator").post(f"/api/v1/tasks/{task.id}/transition/", {"status": "done"},
                                                    format="json"), 403)
    assert client.post(f"/api/v1/tasks/{task.id}/transition/", {"status": "done"}, format="json").json()[
        "status"] == "done"
    assert api_as(MACAO).get(f"/api/v1/tasks/?assignee={MACAO}&status=done").json()["count"] == 1


def test_the_task_list_takes_a_constant_number_of_queries(flood, api_as, django_assert_num_queries):
    client = api_as(ZHUHAI)
    client.get("/api/v1/tasks/")
    with django_assert_num_queries(2):  # count, page (with incident and joint command)
        assert client.get("/api/v1/tasks/").json()["count"] == 4


# --- meetings ----------------------------------------------------------------------------------


def test_the_playbook_convened_the_committee(flood, api_as, django_assert_num_queries):
    client = api_as(SHENZHEN)
    client.get("/api/v1/meetings/")
    with django_assert_num_queries(4):  # count, page, agenda, decisions (none yet: no items or tasks to fetch)
        (meeting,) = client.get(f"/api/v1/meetings/?incident={flood.public_id}").json()["results"]
    assert meeting["body"] == "GBA-COMMITTEE" and meeting["status"] == "scheduled"
    assert meeting["agenda"][0]["incident"] == flood.public_id
    assert SHENZHEN in meeting["participants"]


def test_a_commander_convenes_a_meeting_and_records_decisions_that_become_tasks(flood, api_as):
    client = api_as(ZHUHAI, role="commander")
    when = (timezone.now() + timedelta(hours=3)).isoformat()
    response = client.post("/api/v1/meetings/", {
        "title": "珠中澳防台联席会议", "scheduled_at": when, "participants": [JIANGMEN],
        "agenda": [{"title": "Landfall and evacuation", "incident": flood.public_id}, {"title": "AOB"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    meeting = response.json()
    assert sorted(meeting["participants"]) == sorted([ZHUHAI, ZHONGSHAN, MACAO, JIANGMEN])
    response = client.post(f"/api/v1/meetings/{meeting['id']}/decisions/", {
        "text": "Open cross-border shelters in Zhongshan for Macao residents", "agenda_item": 1,
        "tasks": [{"title": "Prepare 2,000 shelter places", "assignee": ZHONGSHAN}],
    }, format="json")
    assert response.status_code == 201, response.json()
    decision = response.json()["decisions"][0]
    assert decision["agenda_item"] == 1 and decision["tasks"][0]["assignee"] == ZHONGSHAN
    task = Task.objects.get(title="Prepare 2,000 shelter places")
    assert task.joint_command is not None and task.incident_id == flood.public_id  # under the joint command
    assert client.post(f"/api/v1/meetings/{meeting['id']}/close/", {"status": "held"},
                       format="json").json()["status"] == "held"
    names = list(Event.objects.filter(name__startswith="meeting.").values_list("name", flat=True))
    assert names[-3:] == ["meeting.convened", "meeting.decision_recorded", "meeting.closed"]


@pytest.mark.parametrize("body, field", [
    ({"title": "", "agenda": [{"title": "x", "incident": "{incident}"}]}, "title"),
    ({"title": "m", "agenda": []}, "agenda"),
    ({"title": "m", "agenda": [{"title": "x"}]}, "agenda"),  # no incident on the agenda
    ({"title": "m", "agenda": [{"title": "x", "incident": "INC-1999-000001"}]}, "incident"),
    ({"title": "m", "agenda": [{"title": "x", "incident": "{incident}"}], "participants": ["12"]}, "participants"),
    ({"title": "m", "agenda": [{"title": "x", "incident": "{incident}"}], "body": "NOPE"}, "body"),
    ({"title": "m", "agenda": [{"title": "x", "incident": "{incident}"}], "scheduled_at": "2001-01-01T00:00:00Z"},
     "scheduled_at"),
    ({"title": "m", "agenda": [{"title": "x", "incident": "{incident}"}], "scheduled_at": "tomorrow"},
     "scheduled_at"),
])
def test_a_bad_meeting_is_refused_naming_the_field(flood, api_as, body, field):
    body = {"scheduled_at": (timezone.now() + timedelta(hours=1)).isoformat(), **body}
    body["agenda"] = [{k: v.replace("{incident}", flood.public_id) if isinstance(v, str) else v
                       for k, v in item.items()} for item in body["agenda"]]
    response = problem(api_as(ZHUHAI, role="commander").post("/api/v1/meetings/", body, format="json"), 400)
    assert any(key.startswith(field) for key in response["errors"]), response


def test_only_the_convener_records_decisions(flood, api_as):
    meeting = api_as(SHENZHEN).get("/api/v1/meetings/").json()["results"][0]
    problem(api_as(SHENZHEN, role="commander").post(f"/api/v1/meetings/{meeting['id']}/decisions/",
                                                    {"text": "x"}, format="json"), 403)
    problem(api_as(SHENZHEN, role="operator").post("/api/v1/meetings/", {}, format="json"), 403)
    response = api_as(GUANGZHOU, role="coordinator").post(
        f"/api/v1/meetings/{meeting['id']}/decisions/",
        {"text": "Reservoirs release in turn", "tasks": [{"title": "x", "assignee": HUIZHOU},
                                                          {"title": "y", "assignee": "nope"}]}, format="json")
    assert "tasks.1.assignee" in problem(response, 400)["errors"]
    problem(api_as(GUANGZHOU, role="coordinator").post(f"/api/v1/meetings/{meeting['id']}/decisions/",
                                                       {"text": "x", "agenda_item": 99}, format="json"), 400)


def test_escalations_answered_by_the_circle_lead_stop_at_it(playbooks, report, principal_for, api_as, clock):
    # Reported by Macao, so that Zhuhai, the lead of Zhongshan's circle, is not the reporter
    # (a reporter is never asked in another's place: tests/workflows/test_escalation_bodies.py).
    report(actor=principal_for(MACAO, role="commander"))
    deliver()
    drive(clock.now)
    ack = Acknowledgement.objects.get(jurisdiction=ZHONGSHAN, escalation_of__isnull=True)
    drive(ack.due_at + timedelta(seconds=1))
    drive(ack.due_at + timedelta(minutes=21))
    # Zhuhai is asked for its own acknowledgement too (it is affected): the other one is in Zhongshan's place.
    (child,) = [item for item in api_as(ZHUHAI).get("/api/v1/acknowledgements/").json()["results"]
                if item["escalation_of"]]
    assert child["escalation_of"] == str(ack.id)
    assert api_as(ZHUHAI, role="operator").post(f"/api/v1/acknowledgements/{child['id']}/ack/").status_code == 200
    drive(ack.due_at + timedelta(hours=2))
    assert not Escalation.objects.filter(acknowledgement=ack, target="committee").exists()
