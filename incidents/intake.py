"""Writing newly reported incidents: `insert_new_incidents`, the one function that does it.

A report writes five rows: the incident, its affected-jurisdiction rows, its first timeline
entry, its `incident.created` event (the outbox) and its audit entry; and a report whose
(reporting jurisdiction, external_id) is already taken writes none of them (idempotency,
enforced by the database's unique constraint).

On PostgreSQL all of that, for one report or a bulk of 500, is ONE statement: an
`INSERT … ON CONFLICT DO NOTHING` on the incidents feeding data-modifying CTEs that write the
other four tables for the rows it inserted. Each statement costs a round trip and about as
much Python, so this is what makes city systems' all-day pushing cheap (bench/incidents.py).
SQLite (the embedded mode) runs the same contract as ordinary ORM calls; there a transaction
takes the write lock when it begins (settings: IMMEDIATE), so checking for taken keys and then
inserting cannot race. The tests run against both and compare their rows.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from django.db import connection, models, transaction

from coordination.models import AuditEntry
from coordination.principals import Principal
from coordination.services import audit_record
from incidents.models import AffectedJurisdiction, Incident, TimelineEntry, TimelineKind, public_id_for
from sharing.eventlog import Subject, emit_events, event_row, request_dispatch_on_commit
from sharing.models import Event

CREATED_EVENT = "incident.created"
REPORTED_AUDIT_ACTION = "incident.reported"


@dataclass
class NewIncident:
    """A validated report, ready to write. Its public id is not known until it is inserted,
    so `incident.public_id`, the payload's `id`, the subject's id and the audit entry's
    object id are filled in by `insert_new_incidents`."""

    incident: Incident  # unsaved; every column but id and public_id set
    year: int  # the year in its public id
    affected: list[str]
    payload: dict  # the incident.created payload
    subject: Subject
    actor: Principal
    audit_detail: dict


def insert_new_incidents(new: Sequence[NewIncident]) -> list[int | None]:
    """Insert each report whose (reporting jurisdiction, external_id) is not taken, with its
    affected jurisdictions, first timeline entry, event and audit entry: all of it or none.
    Returns, in order, the new incident's pk, or None where the key was taken (by an earlier
    incident, or by an earlier item of the same call). Sets `pk` and `public_id` on the
    incidents it inserted.

    It joins the caller's transaction if there is one. Outside one, the PostgreSQL statement
    is a transaction by itself (no BEGIN and COMMIT round trips), and the ORM calls get theirs.
    """
    if not new:
        return []
    if connection.vendor == "postgresql":
        return _insert_in_one_statement(new)
    with transaction.atomic():
        return _insert_with_orm(new)


# --- SQLite (and any database): ORM calls --------------------------------------------------


def _insert_with_orm(new: Sequence[NewIncident]) -> list[int | None]:
    free = _free_keys(new)
    fresh = [new[index] for index in sorted(free)]
    incidents = [item.incident for item in fresh]
    for incident in incidents:
        incident.public_id = f"new-{uuid.uuid4().hex[:24]}"  # unique until the pk is known
    Incident.objects.bulk_create(incidents)
    for item in fresh:
        item.incident.public_id = public_id_for(year=item.year, pk=item.incident.pk)
    Incident.objects.bulk_update(incidents, ["public_id"])
    AffectedJurisdiction.objects.bulk_create(
        AffectedJurisdiction(incident=item.incident, jurisdiction_id=code) for item in fresh for code in item.affected
    )
    TimelineEntry.objects.bulk_create(TimelineEntry(incident=item.incident, **_first_entry(item)) for item in fresh)
    if fresh:
        emit_events(
            [(CREATED_EVENT, _subject_of(item), _payload_of(item)) for item in fresh], at=fresh[0].incident.created_at
        )
    for item in fresh:
        audit_record(
            actor=item.actor, action=REPORTED_AUDIT_ACTION, object_type="incident", object_id=item.incident.public_id,
            object_jurisdiction=item.incident.reporting_jurisdiction_id, detail=item.audit_detail,
        )
    return [item.incident.pk if index in free else None for index, item in enumerate(new)]


def _free_keys(new: Sequence[NewIncident]) -> set[int]:
    """The indexes of the items whose idempotency key is free, the first of each key within
    the call winning."""
    keys = {(item.incident.reporting_jurisdiction_id, item.incident.external_id) for item in new
            if item.incident.external_id is not None}
    taken = set()
    for reporter in {reporter for reporter, _ in keys}:
        taken |= {
            (reporter, external_id)
            for external_id in Incident.objects.filter(
                reporting_jurisdiction_id=reporter, external_id__in=[key for r, key in keys if r == reporter]
            ).values_list("external_id", flat=True)
        }
    free = set()
    for index, item in enumerate(new):
        key = (item.incident.reporting_jurisdiction_id, item.incident.external_id)
        if item.incident.external_id is not None:
            if key in taken:
                continue
            taken.add(key)
        free.add(index)
    return free


def _first_entry(item: NewIncident) -> dict:
    """The timeline's first entry: the report itself, with the figures it came with."""
    return {
        "kind": TimelineKind.REPORTED, "at": item.incident.created_at, "author": item.actor.label,
        "author_jurisdiction": item.actor.jurisdiction, "text": "", "figures": item.incident.casualties,
        "previous_status": "", "status": "", "data": {},
    }


def _subject_of(item: NewIncident) -> Subject:
    return replace(item.subject, id=item.incident.public_id)


def _payload_of(item: NewIncident) -> dict:
    return {**item.payload, "id": item.incident.public_id}


# --- PostgreSQL: one statement -------------------------------------------------------------


def _insert_in_one_statement(new: Sequence[NewIncident]) -> list[int | None]:
    records = [_record(ord_, item) for ord_, item in enumerate(new)]
    with connection.cursor() as cursor:
        cursor.execute(_one_statement_sql(), [json.dumps(records)])
        inserted = {ord_: (pk, public_id) for ord_, pk, public_id in cursor.fetchall()}
    for ord_, (pk, public_id) in inserted.items():
        new[ord_].incident.pk = pk
        new[ord_].incident.public_id = public_id
    if inserted:
        request_dispatch_on_commit()  # at once when the statement was its own transaction
    return [inserted[ord_][0] if ord_ in inserted else None for ord_ in range(len(new))]


def _record(ord_: int, item: NewIncident) -> dict:
    """One report as the statement's JSON input: a column -> value object per table."""
    at = item.incident.created_at
    event = event_row(CREATED_EVENT, item.subject, item.payload, at)  # validates the payload
    audit = _audit_values(
        actor=item.actor, action=REPORTED_AUDIT_ACTION, object_type="incident", object_id="",
        object_jurisdiction=item.incident.reporting_jurisdiction_id, detail=item.audit_detail, at=at,
    )
    return {
        "ord": ord_,
        "year": item.year,
        "incident": _columns_of(item.incident),
        "affected": item.affected,
        "entry": _jsonable(_first_entry(item)),
        "event": _columns_of(event),
        "audit": _jsonable(audit),
    }


def _audit_values(*, actor: Principal | None, action: str, object_type: str, object_id: str,
                  object_jurisdiction: str, detail: dict, at: datetime) -> dict:
    """The columns coordination.services.audit_record writes, for the one-statement insert.
    tests/incidents/test_intake.py compares the rows the two write, so they cannot drift apart."""
    return dict(
        at=at,
        user_id=actor.user_id if actor else None,
        client_id=actor.client_id if actor else None,
        actor=actor.label if actor else "system",
        actor_jurisdiction=actor.jurisdiction if actor else "",
        ip=actor.ip if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_jurisdiction=object_jurisdiction,
        detail=detail,
    )


def _columns_of(instance: models.Model) -> dict:
    return _jsonable({field.column: field.value_from_object(instance) for field in _written_fields(type(instance))})


def _jsonable(values: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


@cache
def _written_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(field for field in model._meta.concrete_fields if not field.primary_key)


def _quoted(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{column}"' for column in columns)


def _insert_select(model: type[models.Model], source: str, overrides: dict[str, str]) -> str:
    """`INSERT INTO table (columns) SELECT … FROM new, jsonb_populate_record(table, new.<source>) r`,
    taking each column from the JSON record unless `overrides` gives an expression for it."""
    table = model._meta.db_table
    columns = [field.column for field in _written_fields(model)]
    expressions = ", ".join(overrides.get(column, f'r."{column}"') for column in columns)
    return (
        f"INSERT INTO {table} ({_quoted(columns)})\n"
        f"    SELECT {expressions}\n"
        f"    FROM new, jsonb_populate_record(NULL::{table}, new.{source}) AS r"
    )


@cache
def _one_statement_sql() -> str:
    incident_table = Incident._meta.db_table
    incident_columns = [field.column for field in _written_fields(Incident) if field.column != "public_id"]
    affected_table = AffectedJurisdiction._meta.db_table
    insert_entries = _insert_select(TimelineEntry, "entry", {"incident_id": "new.id"})
    insert_events = _insert_select(Event, "event", {
        "subject_id": "new.public_id",
        "payload": "jsonb_set(r.payload, '{id}', to_jsonb(new.public_id))",
    })
    insert_audit = _insert_select(AuditEntry, "audit", {"object_id": "new.public_id"})
    # The statement's shape: number each input row (the public id needs the pk), insert the
    # incidents in external_id order (concurrent bulks lock keys in one order, so they cannot
    # deadlock) skipping taken keys, and write the other four tables for the inserted rows only.
    return f"""
WITH item AS (
    SELECT r.*, nextval(pg_get_serial_sequence('{incident_table}', 'id')) AS id
    FROM jsonb_to_recordset(%s::jsonb) AS r(
        ord int, year int, incident jsonb, affected jsonb, entry jsonb, event jsonb, audit jsonb
    )
),
named AS (
    SELECT item.*,
           'INC-' || lpad(year::text, 4, '0') || '-' || lpad(id::text, greatest(6, length(id::text)), '0') AS public_id
    FROM item
),
inserted AS (
    INSERT INTO {incident_table} (id, public_id, {_quoted(incident_columns)})
    SELECT named.id, named.public_id, {_quoted(incident_columns, "r.")}
    FROM named, jsonb_populate_record(NULL::{incident_table}, named.incident) AS r
    ORDER BY r.external_id NULLS LAST, named.ord
    ON CONFLICT (reporting_jurisdiction_id, external_id) DO NOTHING
    RETURNING id
),
new AS (
    SELECT named.* FROM named JOIN inserted USING (id)
),
affected AS (
    INSERT INTO {affected_table} (incident_id, jurisdiction_id, added_manually, added_by)
    SELECT new.id, code, false, '' FROM new, jsonb_array_elements_text(new.affected) AS code
),
entries AS (
    {insert_entries}
),
events AS (
    {insert_events}
),
audit AS (
    {insert_audit}
)
SELECT ord, id, public_id FROM new
"""
