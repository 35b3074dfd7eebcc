"""The event log: writing events with the change they describe, numbering them, reading them.

Writers call `emit_event` inside their transaction. After commit a Celery task (by name, so
this layer imports nothing above it) numbers the new rows and dispatches them; a periodic
relay does the same for whatever a lost message or a dead worker left behind.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from sharing.events import validate_payload
from sharing.models import DataKind, Event, SequenceCounter
from sharing.visibility import Facts

logger = logging.getLogger("liandong.events")

DISPATCH_TASK = "sharing.tasks.dispatch_events"


@dataclass(frozen=True)
class Subject:
    """What an event is about, and the facts the visibility rule needs to judge it."""

    type: str
    id: str
    cluster: str
    owner: str
    jurisdictions: Sequence[str] = ()
    level: str = ""
    category: str = ""
    data_kind: str = DataKind.INCIDENTS
    exercise: bool = False
    about: Facts | None = None  # the data the subject refers to (sharing.visibility.Facts.about)
    about_fields: frozenset[str] = frozenset()  # the payload's keys taken from it


def about_column(subject: Subject) -> dict | None:
    """`Subject.about` as the event row keeps it (the facts the readers judge it by)."""
    facts = subject.about
    if facts is None or not subject.about_fields:
        return None
    return {"data_kind": facts.data_kind, "owner": facts.owner, "cluster": facts.cluster,
            "jurisdictions": sorted(facts.jurisdictions), "level": facts.level, "category": facts.category,
            "fields": sorted(subject.about_fields)}


def about_facts(column: dict | None) -> tuple[Facts | None, frozenset[str]]:
    """The event row's `about` column back as facts and the fields taken from them."""
    if not column:
        return None, frozenset()
    return Facts(data_kind=column["data_kind"], owner=column["owner"], cluster=column["cluster"],
                 jurisdictions=frozenset(column["jurisdictions"]), level=column["level"],
                 category=column["category"]), frozenset(column["fields"])


def event_values(name: str, subject: Subject, payload: dict, at: datetime) -> dict:
    """A new event row's columns (its payload checked against the schema of `name`); the
    sequencer's columns (seq, sequenced_at, dispatched_at) are left out: they start NULL.
    Writers that insert the row in their own statement (incidents.intake) take these."""
    validate_payload(name, payload)
    concerned = sorted({subject.owner, *subject.jurisdictions} - {""})
    return dict(
        name=name,
        at=at,
        cluster=subject.cluster,
        owner=subject.owner,
        jurisdictions="," + ",".join(concerned) + "," if concerned else "",
        level=subject.level,
        category=subject.category,
        data_kind=subject.data_kind,
        exercise=subject.exercise,
        subject_type=subject.type,
        subject_id=subject.id,
        payload=payload,
        about=about_column(subject),
    )


def emit_event(name: str, *, subject: Subject, payload: dict, at: datetime | None = None) -> Event:
    """Write one event in the caller's transaction; it is dispatched after that commits."""
    return emit_events([(name, subject, payload)], at=at)[0]


def emit_events(items: Iterable[tuple[str, Subject, dict]], *, at: datetime | None = None) -> list[Event]:
    """Several events in one INSERT (bulk writers), dispatched together after commit."""
    if not connection.in_atomic_block:
        raise RuntimeError("emit_event must run inside the transaction of the change it describes")
    at = at or timezone.now()
    rows = Event.objects.bulk_create(
        [Event(**event_values(name, subject, payload, at)) for name, subject, payload in items]
    )
    request_dispatch_on_commit()
    return rows


def request_dispatch_on_commit() -> None:
    """One dispatch request per transaction, however many events it wrote.

    Django drops the callbacks of a savepoint that rolls back from `run_on_commit`, so looking
    there (rather than keeping a flag of our own) stays right when a savepoint is undone.
    """
    if not any(callback is request_dispatch for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(request_dispatch)


# At most one dispatch task waits in the queue at a time: it dispatches everything committed by
# the time it starts, so a request made while it waits would find nothing left. Under load such
# requests were every other task in the queue, and the deadlines queued behind them waited for
# them (bench/workflows.py). The mark is set when a task is queued and dropped when it starts;
# should the task be lost, the mark lapses after DISPATCH_MARK_SECONDS, and the relay (every
# few seconds) dispatches meanwhile.
DISPATCH_QUEUED_KEY = "sharing:dispatch-queued"
DISPATCH_MARK_SECONDS = 5


def request_dispatch() -> None:
    """Ask a worker to number and dispatch new events, unless a dispatch is queued already and
    has not started. Never raises: with the broker down the events wait in the table and the
    periodic relay dispatches them when it is back."""
    try:
        if not cache.add(DISPATCH_QUEUED_KEY, True, timeout=DISPATCH_MARK_SECONDS):
            return
        current_app.send_task(DISPATCH_TASK)
    except Exception as exc:  # a broker outage must not fail a write that has committed
        logger.warning("event dispatch not requested (%s); the relay will pick the events up", exc)


def dispatch_starting() -> None:
    """Called by the dispatch task before it reads: a commit from now on asks for a new one."""
    cache.delete(DISPATCH_QUEUED_KEY)


# How an event is numbered (docs/architecture.md, "Why events are numbered after they commit"):
# lock the counter row, number the oldest committed, unnumbered rows in insertion order from
# last_seq + 1, advance the counter. `number_pending` below runs these steps, written twice
# side by side here: PostgreSQL runs them as one database function (NUMBER_FUNCTION_SQL),
# SQLite from Python (lock_sequencer, NUMBER_SQL, then the counter's update).
#
# SQLite's numbering statement: it numbers the oldest committed, unnumbered rows and returns
# them whole, so the dispatcher publishes them without reading them again. The returned columns
# are the model's, named.
_EVENT_COLUMNS = ", ".join(f"sharing_event.{field.column}" for field in Event._meta.concrete_fields)
NUMBER_SQL = f"""
WITH pending AS (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn
    FROM sharing_event WHERE seq IS NULL ORDER BY id LIMIT %s
)
UPDATE sharing_event SET seq = %s + pending.rn, sequenced_at = %s
FROM pending WHERE sharing_event.id = pending.id
RETURNING {_EVENT_COLUMNS}
"""

# PostgreSQL's: the same steps as one function, `SELECT * FROM sharing_number_events(batch)`,
# one round trip on the stream's path from commit to subscriber. Each statement of a plpgsql
# function reads with a fresh snapshot, so it numbers what is committed once the lock is held,
# as the steps one by one do. The database holds the function: a migration installs this text
# (sharing 0006), and a change to it needs a new migration that installs it again and records
# its digest (tests/sharing/test_number_function.py fails until then, and fails if the
# database's function differs from this text).
NUMBER_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION sharing_number_events(batch integer) RETURNS SETOF sharing_event
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    numbered bigint;
BEGIN
    -- lock_sequencer: the counter row locked, the sequencer's mutex (one at a time)
    SELECT last_seq INTO base FROM sharing_sequencecounter WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN  -- a database emptied since the migrations (a test flush)
        INSERT INTO sharing_sequencecounter (id, last_seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
        SELECT last_seq INTO base FROM sharing_sequencecounter WHERE id = 1 FOR UPDATE;
    END IF;
    -- NUMBER_SQL: the oldest unnumbered rows, base + 1, base + 2, ..., returned whole
    RETURN QUERY
        WITH pending AS (
            SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn
            FROM sharing_event WHERE seq IS NULL ORDER BY id LIMIT batch
        )
        UPDATE sharing_event SET seq = base + pending.rn, sequenced_at = now()
        FROM pending WHERE sharing_event.id = pending.id
        RETURNING sharing_event.*;
    -- number_pending's last step: the counter advanced to the last number given
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        UPDATE sharing_sequencecounter SET last_seq = base + numbered WHERE id = 1;
    END IF;
END
$$
"""


def lock_sequencer() -> SequenceCounter:
    """Lock the counter row: the sequencer's mutex. Call inside atomic().

    The migration creates the row; a database emptied since (a test flush) gets it back here.
    """
    counter = SequenceCounter.objects.select_for_update().filter(id=1).first()
    if counter is None:
        SequenceCounter.objects.bulk_create([SequenceCounter(id=1, last_seq=0)], ignore_conflicts=True)
        counter = SequenceCounter.objects.select_for_update().get(id=1)
    return counter


def number_pending(*, batch: int = 5000) -> list[Event]:
    """Number up to `batch` committed, unnumbered events in insertion order, in a transaction of
    its own. Returns them numbered (seq order) once the numbers are committed.

    One sequencer at a time: the counter row is locked (SQLite's IMMEDIATE transactions
    serialise writers the same way), so numbers become visible in the order they are given.
    PostgreSQL runs these steps as one function call (NUMBER_FUNCTION_SQL above): this is on
    the stream's path from commit to subscriber, and the five round trips of the steps one by
    one were most of the time to the PUBLISH.
    """
    if connection.vendor == "postgresql":
        return sorted(Event.objects.raw("SELECT * FROM sharing_number_events(%s)", [batch]),
                      key=lambda event: event.seq)
    with transaction.atomic():
        counter = lock_sequencer()
        numbered = sorted(Event.objects.raw(NUMBER_SQL, [batch, counter.last_seq, timezone.now()]),
                          key=lambda event: event.seq)
        if numbered:
            SequenceCounter.objects.filter(id=1).update(last_seq=numbered[-1].seq)
    return numbered


def sequence_pending(*, batch: int = 5000) -> int:
    """Number every committed, unnumbered event. Returns how many."""
    total = 0
    while True:
        numbered = len(number_pending(batch=batch))
        total += numbered
        if numbered < batch:
            return total


def newest_seq() -> int:
    return SequenceCounter.objects.filter(id=1).values_list("last_seq", flat=True).first() or 0


def events_after(*, since: int, limit: int, clusters: Iterable[str] | None = None):
    """Numbered events after `since`, oldest first. Visibility is the caller's job
    (sharing.selectors.events_visible_to): this is the raw log."""
    qs = Event.objects.filter(seq__gt=since).order_by("seq")
    if clusters is not None:
        qs = qs.filter(cluster__in=list(clusters))
    return qs[:limit]
