"""Dispatching numbered events, the sharing side: number what is committed, route each event
once, publish the routes to the stream, and hand out the undispatched events to deliver, one
dispatcher at a time.

Exchange layer of `sharing` (it publishes to the stream). The dispatch task (sharing.tasks, an
edge) runs these steps and, between them, calls the webhook deliveries and the playbook engine,
which live above or beside this module and which it does not import (docs/architecture.md,
"Dispatching").
"""

import logging

from django.db import connection
from django.utils import timezone

from sharing.eventlog import number_pending
from sharing.models import Event
from sharing.stream.publish import publish_routes
from sharing.stream.routes import Route, route_events

logger = logging.getLogger("liandong.dispatch")

# pg_advisory_xact_lock's key for "one dispatcher delivers at a time": any constant of our own.
DISPATCHER_LOCK = 0x4C44_0001


class Dispatcher:
    """One pass of the dispatcher: the routes it has published and not yet seen delivered.

    The stream goes first and outside the delivering transaction (`publish_numbered`), so a
    subscriber's event waits neither for webhook rows and the playbook engine nor for another
    dispatcher's delivering. Numbers are committed before they are published: a number a server
    process has relayed is never given to another event. Both halves may repeat after a crash;
    server processes drop a seq they relayed already, and what delivers must be idempotent.
    """

    def __init__(self, *, batch: int = 500):
        self.batch = batch
        self._published: dict[int, Route] = {}

    def publish_numbered(self) -> int:
        """Number what is committed (at most a batch) and publish it to the stream at once.
        Returns how many were numbered."""
        numbered = number_pending(batch=self.batch)
        routes = route_events(numbered)
        publish_routes(routes)
        self._published.update((route.seq, route) for route in routes)
        return len(numbered)

    def take_undispatched(self) -> list[Event]:
        """The oldest undispatched events (at most a batch), in seq order, for the delivering
        transaction this must run in: it waits for the other dispatchers' deliveries first, so
        batches are delivered in order. Publishes those this pass did not (numbered by a
        dispatcher that died, or by one that is still running: its server processes drop the
        repeat)."""
        if not connection.in_atomic_block:
            raise RuntimeError("take_undispatched must run inside the delivering transaction")
        _lock_dispatcher()
        events = list(Event.objects.filter(seq__isnull=False, dispatched_at__isnull=True).order_by("seq")[:self.batch])
        unpublished = route_events([event for event in events if event.seq not in self._published])
        publish_routes(unpublished)
        self._published.update((route.seq, route) for route in unpublished)
        return events

    def routes_of(self, events: list[Event]) -> list[Route]:
        """The routes of events `take_undispatched` handed out (their audience, each message
        redacted once: webhooks send the same bodies the stream did)."""
        return [self._published[event.seq] for event in events]

    def mark_dispatched(self, events: list[Event]) -> None:
        """In the delivering transaction, once everything has had the events."""
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=timezone.now())
        for event in events:
            self._published.pop(event.seq, None)


def _lock_dispatcher() -> None:
    """One dispatcher delivers at a time, so batches are delivered in seq order; numbering (the
    sequencer's lock) does not wait for it. PostgreSQL: a lock held until the transaction ends;
    SQLite: the transaction itself (IMMEDIATE takes the database's write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCHER_LOCK])
