"""The documented shapes are the real ones: the OpenAPI schema, the output serializers and the
event schemas all describe what incidents.payloads builds."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from incidents.api import serializers
from sharing.event_schemas.incidents import IncidentCreated, SitrepSubmitted, TimelineEntry
from tests.conftest import SHENZHEN

pytestmark = pytest.mark.django_db


def test_the_output_serializer_and_the_event_schema_name_exactly_the_payloads_keys(report):
    incident = report(contacts=[{"name": "Desk", "phone": "+86 755 0000 0000"}])
    assert set(serializers.IncidentOutput().fields) == set(incident)
    assert set(IncidentCreated.model_fields) == set(incident)


def test_timeline_and_sitrep_outputs_match_their_data(api_as, report):
    incident = report()
    client = api_as(SHENZHEN)
    entry = client.post(f"/api/v1/incidents/{incident['id']}/updates/", {"text": "ok"}, format="json").json()
    assert set(serializers.TimelineEntryOutput().fields) == set(entry) == set(TimelineEntry.model_fields)
    sitrep = client.post(f"/api/v1/incidents/{incident['id']}/sitreps/", {
        "period_start": "2026-01-01T08:00:00+08:00", "period_end": "2026-01-01T12:00:00+08:00"}, format="json").json()
    assert set(serializers.SitrepOutput().fields) == set(sitrep) == set(SitrepSubmitted.model_fields)
    joint = client.get(f"/api/v1/incidents/{incident['id']}/sitrep/").json()
    assert set(serializers.JointSitrepOutput().fields) == set(joint)


def test_the_openapi_schema_documents_every_incident_endpoint():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    expected = {
        "/api/v1/incidents/": {"get", "post"},
        "/api/v1/incidents/{id}/": {"get", "patch"},
        "/api/v1/incidents/{id}/updates/": {"get", "post"},
        "/api/v1/incidents/{id}/transition/": {"post"},
        "/api/v1/incidents/{id}/affected-jurisdictions/": {"post"},
        "/api/v1/incidents/{id}/sitreps/": {"get", "post"},
        "/api/v1/incidents/{id}/sitrep/": {"get"},
        "/api/v1/incidents/{id}/sitrep/print/": {"get"},
        "/api/v1/incidents/bulk/": {"post"},
        "/api/v1/incident-categories/": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    listing = paths["/api/v1/incidents/"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert {"cluster", "jurisdiction", "category", "type", "level_at_least", "status", "cross_border",
            "updated_since", "cursor", "page_size"} <= names
    assert "If-Match" in {p["name"] for p in paths["/api/v1/incidents/{id}/"]["patch"]["parameters"]}


def test_the_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/incidents/bulk/" in response.content
