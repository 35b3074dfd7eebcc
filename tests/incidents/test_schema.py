"""The documented shapes are the real ones: the OpenAPI schema, the output serializers and the
event schemas all describe what incidents.payloads builds. The incident's shape is declared once
(sharing.event_schemas.incidents.IncidentData); its OpenAPI component is derived from it
(config.schema.PayloadOutput), and what incident_data really builds validates against both."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from incidents.models import AffectedJurisdiction, Incident, SituationReport, TimelineEntry
from incidents.payloads import incident_data, sitrep_data, timeline_entry_data
from sharing.event_schemas.incidents import (
    IncidentCreated,
    IncidentData,
    JointSitrepData,
    SitrepSubmitted,
    TimelineEntryData,
)
from sharing.models import Event
from tests.conftest import DONGGUAN, SHENZHEN
from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def components(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)["components"]


def validator(components, name: str) -> OAS30ReadValidator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    return OAS30ReadValidator(schema, format_checker=oas30_format_checker)


def built(public_id: str) -> dict:
    """incident_data of the stored incident, as the services call it."""
    incident = Incident.objects.get(public_id=public_id)
    rows = AffectedJurisdiction.objects.filter(incident=incident)
    return incident_data(incident, affected=[row.jurisdiction_id for row in rows],
                         manual=[row.jurisdiction_id for row in rows if row.added_manually])


def test_the_incident_component_and_the_event_schema_name_exactly_the_payloads_keys(report, components):
    incident = report(contacts=[{"name": "Desk", "phone": "+86 755 0000 0000"}])
    assert set(components["schemas"]["IncidentOutput"]["properties"]) == set(incident) == set(built(incident["id"]))
    assert set(IncidentCreated.model_fields) == set(IncidentData.model_fields) == set(incident)


def test_what_incident_data_builds_validates_against_the_component_and_the_event_schema(report, components, api_as):
    incident = report(
        contacts=[{"name": "Desk", "phone": "+86 755 0000 0000"}],
        casualty_details=[{"name": "Li", "condition": "injured"}],
        affected_area=SHENZHEN_DONGGUAN_AREA, external_id="ext-1",
    )
    plain = report(title="Minor flooding on Shennan Road")  # no area, no external id, no contacts
    component = validator(components, "IncidentOutput")
    for public_id in (incident["id"], plain["id"]):
        data = built(public_id)
        component.validate(data)  # raises, naming what does not match
        IncidentData.model_validate(data)
    assert built(incident["id"])["affected_area"] is not None and built(plain["id"])["affected_area"] is None
    event = Event.objects.get(name="incident.created", subject_id=incident["id"])
    component.validate(event.payload)
    neighbour = api_as(DONGGUAN).get(f"/api/v1/incidents/{incident['id']}/").json()  # sensitive fields withheld
    assert "casualty_details" not in neighbour or "contacts" not in neighbour
    component.validate(neighbour)


def test_the_component_refuses_what_the_declaration_refuses(report, components):
    data = built(report()["id"])
    component = validator(components, "IncidentOutput")
    for wrong in ({**data, "unknown": 1}, {**data, "status": "lost"}, {**data, "level": "V"},
                  {**data, "title": None}, {key: value for key, value in data.items() if key != "version"}):
        assert not component.is_valid(wrong), wrong
    assert component.is_valid({**data, "cluster": None, "external_id": None, "affected_area": None})


def test_timeline_and_sitrep_outputs_are_their_data(api_as, report, components):
    incident = report()
    client = api_as(SHENZHEN)
    entry = client.post(f"/api/v1/incidents/{incident['id']}/updates/", {"text": "ok"}, format="json").json()
    schemas = components["schemas"]
    assert set(schemas["TimelineEntryOutput"]["properties"]) == set(entry) == set(TimelineEntryData.model_fields)
    sitrep = client.post(f"/api/v1/incidents/{incident['id']}/sitreps/", {
        "period_start": "2026-01-01T08:00:00+08:00", "period_end": "2026-01-01T12:00:00+08:00"}, format="json").json()
    assert set(schemas["SitrepOutput"]["properties"]) == set(sitrep) == set(SitrepSubmitted.model_fields)
    joint = client.get(f"/api/v1/incidents/{incident['id']}/sitrep/").json()
    assert set(schemas["JointSitrepOutput"]["properties"]) == set(joint) == set(JointSitrepData.model_fields)
    public_id = incident["id"]
    the_entry = TimelineEntry.objects.get(pk=entry["id"])
    the_sitrep = SituationReport.objects.get(pk=sitrep["id"])
    the_incident = Incident.objects.get(public_id=public_id)
    for name, data, shape in (
        ("TimelineEntryOutput", timeline_entry_data(the_entry, cluster=the_incident.cluster_id), TimelineEntryData),
        ("SitrepOutput", sitrep_data(the_sitrep, incident=the_incident), SitrepSubmitted),
        ("SitrepOutput", sitrep, SitrepSubmitted),
        ("TimelineEntryOutput", entry, TimelineEntryData),
    ):
        validator(components, name).validate(data)
        shape.model_validate(data)
    validator(components, "JointSitrepOutput").validate(joint)
    JointSitrepData.model_validate(joint)
    assert not validator(components, "JointSitrepOutput").is_valid({**joint, "unknown": 1})


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
