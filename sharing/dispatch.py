"""Dispatching numbered events: the stream, webhooks and the playbook engine get each one.

Upper layer of `sharing` (it hands events to the stream and webhooks). Called by the dispatch
task after every commit that wrote events, and by the periodic relay for whatever a lost
task or a killed worker left undispatched.
"""

import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from sharing.eventlog import number_pending
from sharing.models import Event
from sharing.stream.publish import publish_routes
from sharing.stream.routing import Route, route_events
from sharing.webhooks.services import deliveries_create

logger = logging.getLogger("liandong.dispatch")

# Each deliverer gets a batch of numbered events in seq order, inside the delivering
# transaction; it must be idempotent, because a batch whose transaction did not commit (a
# killed worker) is delivered again. Layers above this one (the playbook engine) append theirs
# from their task modules at import; the stream and webhooks are this module's own.
Deliverer = Callable[[list[Event]], None]

DELIVERERS: list[Deliverer] = []

# pg_advisory_xact_lock's key for "one dispatcher delivers at a time": any constant of our own.
DISPATCHER_LOCK = 0x4C44_0001


def dispatch_pending(*, batch: int = 500) -> int:
    """Number what is committed and publish it to the stream at once; then, in a transaction,
    hand the undispatched events (oldest first) to webhooks and the deliverers and mark them
    dispatched. Returns how many were delivered.

    The stream goes first and outside the delivering transaction, so a subscriber's event does
    not wait for webhook rows and the playbook engine, nor for another dispatcher's delivering.
    Numbers are committed before they are published: a number a server process has relayed is
    never given to another event. Both halves may repeat after a crash; server processes drop a
    seq they relayed already, and the deliverers are idempotent.
    """
    published: dict[int, Route] = {}
    total = 0
    while True:
        numbered = number_pending(batch=batch)
        routes = route_events(numbered)
        publish_routes(routes)
        published.update((route.seq, route) for route in routes)
        delivered = _deliver_undispatched(published, batch=batch)
        total += delivered
        if len(numbered) < batch and delivered < batch:
            return total


def _deliver_undispatched(published: dict[int, Route], *, batch: int) -> int:
    """One delivering transaction over the oldest undispatched events; publishes those this
    call did not (numbered by a dispatcher that died, or by one that is still running: its
    server processes drop the repeat). Delivered routes leave `published`."""
    with transaction.atomic():
        _lock_dispatcher()
        events = list(Event.objects.filter(seq__isnull=False, dispatched_at__isnull=True).order_by("seq")[:batch])
        if not events:
            return 0
        unpublished = route_events([event for event in events if event.seq not in published])
        publish_routes(unpublished)
        published.update((route.seq, route) for route in unpublished)
        deliveries_create(routes=[published[event.seq] for event in events])
        for deliver in DELIVERERS:
            deliver(events)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=timezone.now())
    for event in events:
        published.pop(event.seq, None)
    return len(events)


def _lock_dispatcher() -> None:
    """One dispatcher delivers at a time, so batches are delivered in seq order; numbering (the
    sequencer's lock) does not wait for it. PostgreSQL: a lock held until the transaction ends;
    SQLite: the transaction itself (IMMEDIATE takes the database's write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCHER_LOCK])
