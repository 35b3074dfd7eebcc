"""Writing newly reported incidents: `insert_new_incidents`, the one function that does it.

A report writes five rows: the incident, its affected-jurisdiction rows, its first timeline
entry, its `incident.created` event (the outbox) and its audit entry; and a report whose
(reporting jurisdiction, external_id) is already taken writes none of them (idempotency,
enforced by the database's unique constraint).

On PostgreSQL all of that, for up to BATCH_SIZE reports, is ONE statement: an
`INSERT … ON CONFLICT DO NOTHING` on the incidents feeding data-modifying CTEs that write the
other four tables for the rows it inserted. Each statement costs a round trip and about as
much Python, so this is what makes city systems' all-day pushing cheap (bench/incidents.py).
A bigger bulk is a statement per batch in one transaction, sent through psycopg's pipeline
as each batch is ready: the database writes one batch while the caller prepares the next.
SQLite (the embedded mode) runs the same contract as ordinary ORM calls; there a transaction
takes the write lock when it begins (settings: IMMEDIATE), so checking for taken keys and then
inserting cannot race. The tests run against both and compare their rows.
"""

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import chain, islice

import orjson
from django.db import connection, models, transaction

from coordination.audit import audit_record, audit_values
from coordination.models import AuditEntry
from coordination.principals import Principal
from incidents.models import AffectedJurisdiction, Incident, TimelineEntry, TimelineKind, public_id_for, public_id_sql
from sharing.eventlog import Subject, emit_events, event_values, request_dispatch_on_commit
from sharing.models import Event

CREATED_EVENT = "incident.created"
REPORTED_AUDIT_ACTION = "incident.reported"
# Reports per statement. Small enough that the first batch's preparation and the last one's
# writing (the parts that cannot overlap) are a small share of a bulk of 500.
BATCH_SIZE = 50


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


def insert_new_incidents(new: Iterable[NewIncident]) -> list[int | None]:
    """Insert each report whose (reporting jurisdiction, external_id) is not taken, with its
    affected jurisdictions, first timeline entry, event and audit entry: all of it or none.
    Returns, in order, the new incident's pk, or None where the key was taken (by an earlier
    incident, or by an earlier item of the same call). Sets `pk` and `public_id` on the
    incidents it inserted.

    `new` may be a generator that prepares each report as it is asked for: on PostgreSQL the
    database then writes one batch while the next is prepared. More than a batch of reports
    must come in external_id order (reports without one last): a statement locks the keys of
    its batch, so two calls locking the same keys batch by batch in different orders could
    deadlock.

    It joins the caller's transaction if there is one. Outside one, a single PostgreSQL
    statement is a transaction by itself (no BEGIN and COMMIT round trips); several get one.
    """
    if connection.vendor == "postgresql":
        return _insert_in_statements(iter(new))
    new = list(new)
    if not new:
        return []
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


# --- PostgreSQL: one statement per batch ---------------------------------------------------


def _insert_in_statements(new: Iterator[NewIncident]) -> list[int | None]:
    first = list(islice(new, BATCH_SIZE))
    following = next(new, None)
    if following is None:
        return _insert_in_one_statement(first)
    return _insert_in_pipelined_statements(chain(first, [following], new))


def _insert_in_one_statement(new: Sequence[NewIncident]) -> list[int | None]:
    if not new:
        return []
    with _server_binding_cursor() as cursor:
        cursor.execute(_one_statement_sql(), [_records_json(new, start=0)])
        pks = _inserted(new, cursor.fetchall(), start=0)
    if any(pk is not None for pk in pks):
        request_dispatch_on_commit()  # at once when the statement was its own transaction
    return pks


def _insert_in_pipelined_statements(new: Iterable[NewIncident]) -> list[int | None]:
    """A statement per batch in one transaction. Each is sent as soon as its batch is
    prepared, without waiting for the ones before (psycopg's pipeline), and the results are
    read at the end."""
    sent: list[tuple[tuple[NewIncident, ...], object]] = []
    start, last_key = 0, None
    with transaction.atomic():
        with connection.wrap_database_errors, connection.connection.pipeline():
            for batch in _batches(new):
                last_key = _check_key_order(batch, after=last_key)
                cursor = _server_binding_cursor()
                cursor.execute(_one_statement_sql(), [_records_json(batch, start=start)])
                sent.append((batch, cursor))
                start += len(batch)
        pks, start = [], 0
        for batch, cursor in sent:
            with cursor:
                pks += _inserted(batch, cursor.fetchall(), start=start)
            start += len(batch)
        if any(pk is not None for pk in pks):
            request_dispatch_on_commit()
    return pks


def _batches(new: Iterable[NewIncident]) -> Iterator[tuple[NewIncident, ...]]:
    items = iter(new)
    while batch := tuple(islice(items, BATCH_SIZE)):
        yield batch


def _key_order(item: NewIncident) -> tuple[bool, str]:
    """The order in which batches must come: by external_id, reports without one last."""
    external_id = item.incident.external_id
    return (external_id is None, external_id or "")


def _check_key_order(batch: Sequence[NewIncident], *, after: tuple[bool, str] | None) -> tuple[bool, str]:
    keys = [_key_order(item) for item in batch]
    if after is not None and min(keys) < after:
        raise ValueError("reports of more than one batch must come in external_id order (insert_new_incidents)")
    return max(keys)


def _records_json(batch: Sequence[NewIncident], *, start: int) -> str:
    # orjson: the standard library's encoder (times through a Python callback) took about 7 ms
    # of a 500-report bulk request.
    records = [_record(start + offset, item) for offset, item in enumerate(batch)]
    return orjson.dumps(records).decode()


def _inserted(batch: Sequence[NewIncident], rows: list[tuple[int, int, str]], *, start: int) -> list[int | None]:
    """Sets pk and public_id on the batch's inserted incidents; their pks in order (None: taken)."""
    pks: list[int | None] = [None] * len(batch)
    for ord_, pk, public_id in rows:
        incident = batch[ord_ - start].incident
        incident.pk, incident.public_id = pk, public_id
        pks[ord_ - start] = pk
    return pks


def _server_binding_cursor():
    """A cursor that sends its parameters apart from the SQL, so psycopg has PostgreSQL
    prepare the statement once per connection: parsing and planning this statement was most
    of the database's work on a single report (0.5 of 0.65 ms measured). Django's cursors
    bind on the client and never prepare; otherwise this is one of them (errors wrapped).

    Django leaves psycopg's preparing off (`prepare_threshold` None). Only server-binding
    cursors ever prepare, and this is the only one, so switching it on for the connection
    prepares this statement and nothing else. Where queries are logged (DEBUG, tests counting
    queries) the ordinary cursor runs it instead: a prepared statement logs no SQL."""
    if connection.queries_logged:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    if connection.connection.prepare_threshold is None:
        connection.connection.prepare_threshold = 0
    return connection.make_cursor(ServerBindingCursor(connection.connection))


def _record(ord_: int, item: NewIncident) -> dict:
    """One report as the statement's JSON input: a column -> value object per table."""
    at = item.incident.created_at
    audit = {"at": at, **audit_values(
        actor=item.actor, action=REPORTED_AUDIT_ACTION, object_type="incident", object_id="",
        object_jurisdiction=item.incident.reporting_jurisdiction_id, detail=item.audit_detail,
    )}
    return {
        "ord": ord_,
        "year": item.year,
        "incident": _columns_of(item.incident),
        "affected": item.affected,
        "entry": _first_entry(item),
        "event": event_values(CREATED_EVENT, item.subject, item.payload, at),  # validates the payload
        "audit": audit,
    }


def _columns_of(instance: models.Model) -> dict:
    values = vars(instance)  # an unsaved instance holds every column under its attname
    return {column: values[attname] for column, attname in _written_columns(type(instance))}


@cache
def _written_columns(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    return tuple((field.column, field.attname) for field in _written_fields(model))


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
           {public_id_sql(year="year", pk="id")} AS public_id
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
