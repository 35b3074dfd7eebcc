"""Every bad input the issue lists is a 400 problem naming the field (never a 500), for a
report, a PATCH and a bulk item alike; a bulk over 500 reports is a 413."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from tests.conftest import SHENZHEN
from tests.incidents.conftest import IN_BEIJING, box, report_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"

BOWTIE = {"type": "Polygon", "coordinates": [[[114.0, 22.6], [114.1, 22.7], [114.1, 22.6], [114.0, 22.7],
                                              [114.0, 22.6]]]}
UNCLOSED = {"type": "Polygon", "coordinates": [[[114.0, 22.6], [114.1, 22.6], [114.1, 22.7], [114.0, 22.7]]]}


def many_vertices(n: int) -> dict:
    import math

    ring = [[114.05 + 0.02 * math.cos(2 * math.pi * i / n), 22.6 + 0.02 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def future(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


BAD_REPORTS = [
    # (what, overrides, field named)
    ("unknown category", {"category": "weather"}, "category"),
    ("unknown type", {"type": "meteor"}, "type"),
    ("type of another category", {"category": "public_health", "type": "hazmat"}, "type"),
    ("unknown level", {"level": "V"}, "level"),
    ("level as a number", {"level": 3}, "level"),
    ("latitude above 90", {"location": {"lat": 90.5, "lon": 114.0}}, "location.lat"),
    ("latitude below -90", {"location": {"lat": -91, "lon": 114.0}}, "location.lat"),
    ("longitude above 180", {"location": {"lat": 22.6, "lon": 180.01}}, "location.lon"),
    ("longitude below -180", {"location": {"lat": 22.6, "lon": -200}}, "location.lon"),
    ("latitude as text", {"location": {"lat": "north", "lon": 114.0}}, "location.lat"),
    ("location not an object", {"location": "Shenzhen"}, "location"),
    ("location without lon", {"location": {"lat": 22.6}}, "location.lon"),
    ("location outside the cluster", {"location": IN_BEIJING}, "location"),
    ("a Point for an area", {"affected_area": {"type": "Point", "coordinates": [114.0, 22.6]}}, "affected_area"),
    ("a LineString for an area", {"affected_area": {"type": "LineString",
                                                    "coordinates": [[114.0, 22.6], [114.1, 22.7]]}}, "affected_area"),
    ("an area that is a string", {"affected_area": "the harbour"}, "affected_area"),
    ("an unclosed ring", {"affected_area": UNCLOSED}, "affected_area"),
    ("a self-intersecting polygon", {"affected_area": BOWTIE}, "affected_area"),
    ("too many vertices", {"affected_area": many_vertices(2100)}, "affected_area"),
    ("area coordinates out of range", {"affected_area": box(114.0, 91.0, 114.1, 92.0)}, "affected_area"),
    ("a radius of zero", {"affected_area": {"circle": {"lat": 22.6, "lon": 114.05, "radius_m": 0}}}, "affected_area"),
    ("a negative radius", {"affected_area": {"circle": {"lat": 22.6, "lon": 114.05, "radius_m": -5}}},
     "affected_area"),
    ("an absurd radius", {"affected_area": {"circle": {"lat": 22.6, "lon": 114.05, "radius_m": 5_000_000}}},
     "affected_area"),
    ("a circle without a radius", {"affected_area": {"circle": {"lat": 22.6, "lon": 114.05}}}, "affected_area"),
    ("a circle centred off the globe", {"affected_area": {"circle": {"lat": 95, "lon": 114.05, "radius_m": 10}}},
     "affected_area"),
    ("occurred_at far in the future", {"occurred_at": future(days=2)}, "occurred_at"),
    ("occurred_at not a time", {"occurred_at": "last tuesday"}, "occurred_at"),
    ("negative deaths", {"casualties": {"deaths": -1}}, "casualties.deaths"),
    ("negative evacuated", {"casualties": {"evacuated": -20}}, "casualties.evacuated"),
    ("fractional injured", {"casualties": {"injured": 1.5}}, "casualties.injured"),
    ("an unknown casualty figure", {"casualties": {"rescued": 3}}, "casualties.rescued"),
    ("a title over 200 characters", {"title": "x" * 201}, "title"),
    ("an empty title", {"title": ""}, "title"),
    ("a description over 10000 characters", {"description": "x" * 10_001}, "description"),
    ("an external_id over 100 characters", {"external_id": "x" * 101}, "external_id"),
    ("an external_id with control characters", {"external_id": "a\nb"}, "external_id"),
    ("a casualty detail without a condition", {"casualty_details": [{"name": "Li"}]}, "casualty_details.0.condition"),
    ("a contact with a bad phone number", {"contacts": [{"name": "Desk", "phone": "call me"}]}, "contacts.0.phone"),
    ("an unknown field", {"severity": "high"}, "severity"),
    ("exercise not a boolean", {"exercise": "perhaps"}, "exercise"),
]


@pytest.mark.parametrize("what, overrides, field", BAD_REPORTS, ids=[case[0] for case in BAD_REPORTS])
def test_a_bad_report_is_a_400_naming_the_field(api_as, what, overrides, field):
    response = api_as(SHENZHEN).post(URL, report_body(**overrides), format="json")
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()
    assert not Incident.objects.exists()


@pytest.mark.parametrize("missing", ["title", "category", "type", "level", "occurred_at", "location"])
def test_a_report_without_a_required_field_names_it(api_as, missing):
    response = api_as(SHENZHEN).post(URL, report_body(**{missing: None}), format="json")
    assert response.status_code == 400 and missing in response.json()["errors"]


def test_a_body_that_is_not_an_object_is_a_400(api_as):
    assert api_as(SHENZHEN).post(URL, [1, 2], format="json").status_code == 400
    assert api_as(SHENZHEN).post(URL, "{", content_type="application/json").status_code == 400


@pytest.mark.parametrize("what, overrides, field", [case for case in BAD_REPORTS if case[2] not in
                                                     ("external_id", "exercise")],
                         ids=[case[0] for case in BAD_REPORTS if case[2] not in ("external_id", "exercise")])
def test_a_bad_patch_is_a_400_naming_the_field_and_changes_nothing(api_as, report, what, overrides, field):
    incident = report()
    if field == "type" and "category" in overrides:
        pass  # the pair is checked as a whole
    response = api_as(SHENZHEN).patch(f"{URL}{incident['id']}/", overrides, format="json")
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["errors"]
    assert Incident.objects.get().version == 1


def test_a_patch_that_makes_the_type_foreign_to_the_category_is_refused(api_as, report):
    incident = report(category="accident", type="hazmat")
    response = api_as(SHENZHEN).patch(f"{URL}{incident['id']}/", {"category": "public_health"}, format="json")
    assert response.status_code == 400 and "type" in response.json()["errors"]


@pytest.mark.parametrize("what, overrides, field", BAD_REPORTS[:12], ids=[case[0] for case in BAD_REPORTS[:12]])
def test_a_bad_bulk_item_gets_its_own_400_naming_the_field(api_as, what, overrides, field):
    response = api_as(SHENZHEN).post(f"{URL}bulk/", [report_body(), report_body(**overrides)], format="json")
    assert response.status_code == 200
    good, bad = response.json()["results"]
    assert good["status"] == 201
    assert bad["status"] == 400 and field in bad["problem"]["errors"]


@pytest.mark.parametrize("body, field", [
    ({"text": ""}, "text"), ({"text": "x" * 5001}, "text"), ({"text": "ok", "figures": {"deaths": -1}},
                                                               "figures.deaths"),
    ({}, "text"),
])
def test_a_bad_timeline_entry_is_a_400_naming_the_field(api_as, report, body, field):
    incident = report()
    response = api_as(SHENZHEN).post(f"{URL}{incident['id']}/updates/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.parametrize("body, field", [({"status": "resolved"}, "status"), ({}, "status"),
                                         ({"status": "verified", "note": "x" * 2001}, "note")])
def test_a_bad_transition_is_a_400_naming_the_field(api_as, report, body, field):
    incident = report()
    response = api_as(SHENZHEN, role="commander").post(f"{URL}{incident['id']}/transition/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.parametrize("code", ["999999", "abc", "0440300"])
def test_adding_an_unknown_jurisdiction_is_a_400(api_as, report, code):
    incident = report()
    response = api_as(SHENZHEN).post(f"{URL}{incident['id']}/affected-jurisdictions/", {"jurisdiction": code},
                                     format="json")
    assert response.status_code == 400 and "jurisdiction" in response.json()["errors"]


def test_a_bulk_of_more_than_500_is_413(api_as):
    response = api_as(SHENZHEN).post(f"{URL}bulk/", [report_body()] * 501, format="json")
    assert response.status_code == 413 and response["Content-Type"] == "application/problem+json"
    assert not Incident.objects.exists()


def test_a_bulk_body_over_its_byte_limit_is_413(api_as, settings):
    settings.MAX_BULK_BODY_BYTES = 4096
    response = api_as(SHENZHEN).post(f"{URL}bulk/", [report_body()] * 40, format="json")
    assert response.status_code == 413


def test_a_single_report_keeps_the_smaller_body_limit(api_as, settings):
    settings.MAX_BODY_BYTES = 2048
    response = api_as(SHENZHEN).post(URL, report_body(description="x" * 3000), format="json")
    assert response.status_code == 413


@pytest.mark.parametrize("body", [{}, [], {"items": []}, "reports", {"incidents": "all"}])
def test_a_bulk_body_that_is_not_a_list_of_reports_is_a_400(api_as, body):
    response = api_as(SHENZHEN).post(f"{URL}bulk/", body, format="json")
    assert response.status_code == 400 and "incidents" in response.json()["errors"]
