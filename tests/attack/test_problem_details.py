"""Problem details keep their status: RFC 9457 makes `status` the HTTP code, and a fact about
the object refused (an incident's status, a task's, a meeting's) goes under a member of its
own. A 409 on a refused move once answered `"status": "reported"`.

Beyond the refusals provoked here, every problem answer any attack test receives is checked
the same way (tests/attack/conftest.py, problems_keep_their_status)."""

from datetime import UTC, datetime, timedelta

import pytest

from config import errors
from config.problems import problem_body
from tests.attack.conftest import tally
from tests.attack.world import INSIDE_SHENZHEN
from tests.conftest import SHENZHEN
from tests.workflows.conftest import deliver

pytestmark = [pytest.mark.attack, pytest.mark.django_db]


def refusal(response, code: int) -> dict:
    assert response.status_code == code, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_a_refused_move_answers_its_own_status_and_names_the_objects_apart(api_as):
    shenzhen = api_as(SHENZHEN)
    lead = api_as(SHENZHEN, role="coordinator")
    now = datetime.now(UTC)
    incident = shenzhen.post("/api/v1/incidents/", {
        "title": "Pipe burst", "category": "accident", "type": "hazmat", "level": "IV",
        "occurred_at": (now - timedelta(minutes=5)).isoformat(), "location": INSIDE_SHENZHEN}, format="json").json()
    url = f"/api/v1/incidents/{incident['id']}"
    deliver()  # the workflows learn of the incident, as from the dispatcher
    checks = []

    body = refusal(shenzhen.post(f"{url}/transition/", {"status": "closed"}, format="json"), 409)
    checks.append(("incident move", body, {"current_status": "reported", "allowed": ["cancelled", "verified"]}))

    command = lead.post("/api/v1/joint-commands/", {"incident": incident["id"]}, format="json").json()
    task = lead.post(f"/api/v1/joint-commands/{command['id']}/tasks/", {"title": "Close the valve",
                                                                       "assignee": SHENZHEN}, format="json").json()
    assert lead.post(f"/api/v1/tasks/{task['id']}/transition/", {"status": "done"}, format="json").status_code == 200
    body = refusal(lead.post(f"/api/v1/tasks/{task['id']}/transition/", {"status": "open"}, format="json"), 409)
    checks.append(("task move", body, {"current_status": "done", "allowed": []}))

    meeting = lead.post("/api/v1/meetings/", {
        "title": "Joint session", "scheduled_at": (now + timedelta(hours=1)).isoformat(),
        "agenda": [{"title": "The burst", "incident": incident["id"]}]}, format="json").json()
    assert lead.post(f"/api/v1/meetings/{meeting['id']}/close/", {"status": "cancelled"},
                     format="json").status_code == 200
    body = refusal(lead.post(f"/api/v1/meetings/{meeting['id']}/close/", {"status": "held"}, format="json"), 409)
    checks.append(("meeting closed twice", body, {"current_status": "cancelled"}))
    body = refusal(lead.post(f"/api/v1/meetings/{meeting['id']}/decisions/", {"text": "Too late"},
                             format="json"), 409)
    checks.append(("decision in a cancelled meeting", body, {"current_status": "cancelled"}))

    assert lead.post(f"/api/v1/joint-commands/{command['id']}/close/", {}, format="json").status_code == 200
    body = refusal(lead.post(f"/api/v1/joint-commands/{command['id']}/log/", {"text": "After closing"},
                             format="json"), 409)
    checks.append(("closed joint command", body, {"current_status": "closed"}))

    assert shenzhen.post(f"{url}/transition/", {"status": "cancelled", "note": "false alarm"},
                         format="json").status_code == 200
    body = refusal(shenzhen.patch(f"{url}/", {"title": "Renamed"}, format="json"), 409)
    checks.append(("change of a cancelled incident", body, {"current_status": "cancelled"}))

    failures = [(name, body) for name, body, members in checks
                if body["status"] != 409 or any(body.get(key) != value for key, value in members.items())]
    tally("problem details keep their status", cases=len(checks), failures=len(failures))
    assert failures == [], failures


@pytest.mark.parametrize("member", ["type", "title", "status", "detail", "instance"])
def test_no_extension_member_can_take_the_place_of_an_rfc_member(member):
    """Refused where the error is made, and where a body is made (the views' own problems)."""
    refused = 0
    with pytest.raises(TypeError):
        errors.Conflict("A refused move.", **{member: "reported"})
    refused += 1
    with pytest.raises(TypeError):
        problem_body(status_code=409, title="Conflict", detail="A refused move.", slug="conflict",
                     **{member: "reported"})
    refused += 1
    tally("problem details keep their status", cases=2, failures=2 - refused)


def test_a_problem_is_json_whatever_the_endpoint_renders_otherwise(api_as, settings):
    """The schema answers YAML, a CAP export and an EDXL-RM thread XML: their problems are
    JSON all the same (a 429 from the schema was YAML labelled application/problem+json)."""
    import json
    import uuid

    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "principal": "2/min"}}
    anonymous = APIClient(REMOTE_ADDR="198.51.100.40")
    assert [anonymous.get("/api/schema/").status_code for _ in range(2)] == [200, 200]
    shenzhen = api_as(SHENZHEN)
    answers = [
        (anonymous.get("/api/schema/"), 429),
        (anonymous.get("/api/schema/", {"format": "yaml"}), 429),
        (shenzhen.get(f"/api/v1/alerts/{uuid.uuid4()}/cap/", HTTP_ACCEPT="application/cap+xml"), 404),
        (shenzhen.get("/api/v1/resource-requests/999999/edxl-rm/", HTTP_ACCEPT="application/xml"), 404),
    ]
    failures = []
    for response, code in answers:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if response.status_code != code or not response["Content-Type"].startswith("application/problem+json") \
                or not isinstance(body, dict) or body.get("status") != code:
            failures.append((response.wsgi_request.path, response.status_code, response.content[:120]))
    tally("problem details keep their status", cases=len(answers), failures=len(failures))
    assert failures == [], failures
