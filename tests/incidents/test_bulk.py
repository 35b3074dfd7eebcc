"""POST /api/v1/incidents/bulk/: a result per item, in order; one bad item sinks nothing."""

import pytest

from coordination.models import AuditEntry
from incidents.models import AffectedJurisdiction, Incident
from sharing.models import Event
from tests.conftest import DONGGUAN, SHENZHEN
from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA, report_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/bulk/"


def test_each_item_gets_its_result_in_order(api_as):
    client = api_as(SHENZHEN)
    client.post("/api/v1/incidents/", report_body(external_id="known"), format="json")
    items = [
        report_body(external_id="b-1", affected_area=SHENZHEN_DONGGUAN_AREA),
        report_body(level="V"),
        report_body(external_id="known", level="II"),
        report_body(external_id="b-1"),  # the first item's key again, in the same request
        report_body(),
    ]
    response = client.post(URL, items, format="json")
    assert response.status_code == 200
    body = response.json()
    assert [result["index"] for result in body["results"]] == [0, 1, 2, 3, 4]
    assert [result["status"] for result in body["results"]] == [201, 400, 200, 200, 201]
    assert body["created"] == 2 and body["existing"] == 2 and body["failed"] == 1
    assert body["results"][0]["incident"]["affected_jurisdictions"] == [SHENZHEN, DONGGUAN]
    assert "level" in body["results"][1]["problem"]["errors"]
    assert body["results"][2]["incident"]["level"] == "II"
    assert body["results"][3]["incident"]["id"] == body["results"][0]["incident"]["id"]
    assert Incident.objects.count() == 3


def test_a_bulk_writes_one_event_and_one_audit_entry_per_new_incident(api_as):
    response = api_as(SHENZHEN).post(URL, {"incidents": [report_body() for _ in range(25)]}, format="json")
    assert response.json()["created"] == 25
    assert Event.objects.filter(name="incident.created").count() == 25
    assert AuditEntry.objects.filter(action="incident.reported").count() == 25
    assert AffectedJurisdiction.objects.count() == 25
    ids = [result["incident"]["id"] for result in response.json()["results"]]
    assert len(set(ids)) == 25


def test_a_full_bulk_of_500_goes_through(api_as):
    response = api_as(SHENZHEN).post(URL, [report_body(external_id=f"full-{n}") for n in range(500)], format="json")
    assert response.status_code == 200 and response.json()["created"] == 500


def test_an_item_refused_by_a_rule_does_not_undo_the_others(api_as):
    client = api_as(SHENZHEN, role="commander")
    first = client.post("/api/v1/incidents/", report_body(external_id="closing"), format="json").json()
    for status in ("verified", "responding", "contained", "closed"):
        client.post(f"/api/v1/incidents/{first['id']}/transition/", {"status": status, "note": "done"},
                    format="json")
    response = client.post(URL, [report_body(), report_body(external_id="closing", title="late news")], format="json")
    assert [result["status"] for result in response.json()["results"]] == [201, 409]
    assert Incident.objects.count() == 2


def test_bulk_needs_the_reporting_role(api_as):
    assert api_as(SHENZHEN, role="viewer").post(URL, [report_body()], format="json").status_code == 403
