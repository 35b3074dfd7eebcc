"""Incident and situation-report events (incidents.services emits them; incidents.payloads
builds them). `casualty_details` and `contacts` are the sensitive keys the stream withholds
from subscribers who may not have them (sharing.visibility.SENSITIVE_FIELDS).

`IncidentData` is the incident's wire shape, declared once: what incidents.payloads.incident_data
builds, what the API answers (its OpenAPI component, IncidentOutput, is derived from this
class: config.schema.PayloadOutput) and what the incident events carry. `TimelineEntryData`
and `SitrepData` are the same for timeline_entry_data and sitrep_data, `JointSitrepData` for the
joint situation report the API answers (incidents.selectors.joint_sitrep_read_by).
"""

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from sharing.event_schemas import Instant, Payload, choices_of

# What an incident's area is (incidents.areas checks it on input).
AFFECTED_AREA = {
    "oneOf": [
        {
            "type": "object",
            "description": "GeoJSON Polygon or MultiPolygon (WGS84, [lon, lat])",
            "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                           "coordinates": {"type": "array", "items": {}}},
            "required": ["type", "coordinates"],
        },
        {
            "type": "object",
            "properties": {"circle": {"type": "object", "properties": {
                "lat": {"type": "number"}, "lon": {"type": "number"}, "radius_m": {"type": "number"}}}},
            "required": ["circle"],
        },
    ],
}


class Location(Payload):
    lat: float
    lon: float


class Casualties(Payload):
    deaths: int
    injured: int
    missing: int
    evacuated: int


class ReportedBy(Payload):
    kind: Literal["officer", "client"]
    name: str


class IncidentData(Payload):
    id: str = Field(description="Public id, e.g. INC-2026-000123.")
    title: str
    description: str
    category: Annotated[str, choices_of("incidents.Incident", "category")]
    type: str
    level: Annotated[str, choices_of("incidents.Incident", "level")]
    status: Annotated[str, choices_of("incidents.Incident", "status")]
    exercise: bool = Field(description="A drill (演练); kept out of real figures.")
    occurred_at: Instant
    location: Location
    affected_area: Annotated[dict[str, Any], WithJsonSchema(AFFECTED_AREA)] | None
    reporting_jurisdiction: str
    affected_jurisdictions: list[str]
    affected_jurisdictions_added_manually: list[str]
    cross_border: bool
    cluster: str | None
    casualties: Casualties
    casualty_details: list[dict[str, Any]] = Field(
        description="Personal data; absent for jurisdictions it is withheld from.")
    contacts: list[dict[str, Any]] = Field(description="Absent for jurisdictions it is withheld from.")
    external_id: str | None
    version: int = Field(description="Also the ETag.")
    reported_by: ReportedBy
    created_at: Instant
    updated_at: Instant


class IncidentCreated(IncidentData):
    pass


class IncidentUpdated(IncidentData):
    changed: list[str]


class IncidentStatusChanged(Payload):
    id: str
    title: str
    category: str
    level: str
    exercise: bool
    previous_status: str
    status: str
    note: str
    version: int
    at: str


class TimelineEntryData(Payload):
    """A timeline entry's wire shape (incidents.payloads.timeline_entry_data; the API's
    TimelineEntryOutput is derived from it)."""

    id: int
    kind: Annotated[str, choices_of("incidents.TimelineEntry", "kind")]
    at: Instant
    author: str
    author_jurisdiction: str
    text: str
    figures: dict[str, int]
    previous_status: str | None
    status: str | None
    data: dict[str, Any] = Field(description='What an entry of another app refers to, e.g. {"alert": "<id>"}.')


class IncidentUpdateAdded(Payload):
    incident: str
    exercise: bool
    entry: TimelineEntryData


class SitrepFigures(Payload):
    deaths: int
    injured: int
    missing: int
    evacuated: int
    shelters_open: int
    resources_deployed: int


class SitrepData(Payload):
    """A situation report's wire shape (incidents.payloads.sitrep_data; the API's SitrepOutput is
    derived from it)."""

    id: int
    incident: str
    jurisdiction: str
    period_start: Instant
    period_end: Instant
    figures: SitrepFigures
    needs: str
    text: str
    exercise: bool
    author: str
    version: int
    created_at: Instant
    updated_at: Instant


class JointSitrepData(Payload):
    """The joint situation report's wire shape (incidents.selectors.joint_sitrep_read_by; the
    API's JointSitrepOutput is derived from it). No event carries it: it is read, not written."""

    incident: str
    title: str
    category: Annotated[str, choices_of("incidents.Incident", "category")]
    type: str
    level: Annotated[str, choices_of("incidents.Incident", "level")]
    status: Annotated[str, choices_of("incidents.Incident", "status")]
    exercise: bool
    as_of: Instant
    affected_jurisdictions: list[str]
    reported: list[str] = Field(description="Jurisdictions counted.")
    missing: list[str] = Field(description="Affected, not yet reported.")
    totals: SitrepFigures
    reports: list[SitrepData] = Field(description="The latest report of each jurisdiction counted.")
    exercise_reports_excluded: int = Field(description="Drill reports kept out of a real incident's totals.")


class SitrepSubmitted(SitrepData):
    pass


class SitrepUpdated(SitrepData):
    changed: list[str]
