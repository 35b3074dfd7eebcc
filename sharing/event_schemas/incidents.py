"""Incident and situation-report events (incidents.services emits them; incidents.payloads
builds them). `casualty_details` and `contacts` are the sensitive keys the stream withholds
from subscribers who may not have them (sharing.visibility.SENSITIVE_FIELDS)."""

from typing import Any, Literal

from sharing.event_schemas import Payload


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


class _Incident(Payload):
    id: str
    title: str
    description: str
    category: str
    type: str
    level: str
    status: str
    exercise: bool
    occurred_at: str
    location: Location
    affected_area: dict[str, Any] | None
    reporting_jurisdiction: str
    affected_jurisdictions: list[str]
    affected_jurisdictions_added_manually: list[str]
    cross_border: bool
    cluster: str | None
    casualties: Casualties
    casualty_details: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    external_id: str | None
    version: int
    reported_by: ReportedBy
    created_at: str
    updated_at: str


class IncidentCreated(_Incident):
    pass


class IncidentUpdated(_Incident):
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


class TimelineEntry(Payload):
    id: int
    kind: str
    at: str
    author: str
    author_jurisdiction: str
    text: str
    figures: dict[str, int]
    previous_status: str | None
    status: str | None
    data: dict[str, Any]


class IncidentUpdateAdded(Payload):
    incident: str
    exercise: bool
    entry: TimelineEntry


class SitrepFigures(Payload):
    deaths: int
    injured: int
    missing: int
    evacuated: int
    shelters_open: int
    resources_deployed: int


class _Sitrep(Payload):
    id: int
    incident: str
    jurisdiction: str
    period_start: str
    period_end: str
    figures: SitrepFigures
    needs: str
    text: str
    exercise: bool
    author: str
    version: int
    created_at: str
    updated_at: str


class SitrepSubmitted(_Sitrep):
    pass


class SitrepUpdated(_Sitrep):
    changed: list[str]
