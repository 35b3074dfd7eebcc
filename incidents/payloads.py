"""Incidents, timeline entries and situation reports as plain data: what the API answers and
what events carry (the same dicts, so a subscriber and a poller read one shape).

That shape is declared once, in sharing.event_schemas.incidents: IncidentData, TimelineEntryData
and SitrepData. Every event's payload is checked against it, and the API's OpenAPI components
are derived from it (config.schema.PayloadOutput); tests/incidents/test_schema.py validates what
these functions build against both. A key added here is added there too.

Times are rendered in the cluster's time zone (docs/api.md, "Identifiers and times"). The sensitive fields
(sharing.visibility.SENSITIVE_FIELDS) are top-level keys, so `redact` removes them for
whoever may not have them.
"""

import zoneinfo
from collections.abc import Iterable
from datetime import datetime

from coordination.registry import registry
from incidents.models import Incident, SituationReport, TimelineEntry


def cluster_zone(cluster: str | None) -> zoneinfo.ZoneInfo:
    """The display time zone of a cluster (the service's TIME_ZONE for none or an unknown one),
    from the registry snapshot."""
    return registry().zone(cluster)


def _time(value: datetime | None, zone: zoneinfo.ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value is not None else None


def incident_data(incident: Incident, *, affected: Iterable[str], manual: Iterable[str] = ()) -> dict:
    zone = cluster_zone(incident.cluster_id)
    return {
        "id": incident.public_id,
        "title": incident.title,
        "description": incident.description,
        "category": incident.category,
        "type": incident.type,
        "level": incident.level,
        "status": incident.status,
        "exercise": incident.exercise,
        "occurred_at": _time(incident.occurred_at, zone),
        "location": {"lat": incident.location_lat, "lon": incident.location_lon},
        "affected_area": incident.affected_area,
        "reporting_jurisdiction": incident.reporting_jurisdiction_id,
        "affected_jurisdictions": sorted(affected),
        "affected_jurisdictions_added_manually": sorted(manual),
        "cross_border": incident.cross_border,
        "cluster": incident.cluster_id,
        "casualties": incident.casualties,
        "casualty_details": incident.casualty_details,
        "contacts": incident.contacts,
        "external_id": incident.external_id,
        "version": incident.version,
        "reported_by": {
            "kind": "client" if incident.reported_by_client_id else "officer",
            "name": incident.reported_by,
        },
        "created_at": _time(incident.created_at, zone),
        "updated_at": _time(incident.updated_at, zone),
    }


def timeline_entry_data(entry: TimelineEntry, *, cluster: str | None) -> dict:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "at": _time(entry.at, cluster_zone(cluster)),
        "author": entry.author,
        "author_jurisdiction": entry.author_jurisdiction,
        "text": entry.text,
        "figures": entry.figures,
        "previous_status": entry.previous_status or None,
        "status": entry.status or None,
        "data": entry.data,
    }


def sitrep_data(sitrep: SituationReport, *, incident: Incident) -> dict:
    zone = cluster_zone(incident.cluster_id)
    return {
        "id": sitrep.pk,
        "incident": incident.public_id,
        "jurisdiction": sitrep.jurisdiction_id,
        "period_start": _time(sitrep.period_start, zone),
        "period_end": _time(sitrep.period_end, zone),
        "figures": sitrep.figures,
        "needs": sitrep.needs,
        "text": sitrep.text,
        "exercise": sitrep.exercise,
        "author": sitrep.author,
        "version": sitrep.version,
        "created_at": _time(sitrep.created_at, zone),
        "updated_at": _time(sitrep.updated_at, zone),
    }
