"""Dispatching numbered events: the stream, webhooks and the playbook engine get each one.

Upper layer of `sharing` (it hands events to the stream and webhooks). Called by the dispatch
task after every commit that wrote events, and by the periodic relay for whatever a lost
task or a killed worker left undispatched.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from sharing.eventlog import lock_sequencer, sequence_pending
from sharing.models import Event
from sharing.stream.publish import publish_routes
from sharing.stream.routing import route_events
from sharing.webhooks.services import deliveries_create

logger = logging.getLogger("liandong.dispatch")

# Each deliverer gets a batch of numbered events in seq order, inside the dispatch
# transaction; it must be idempotent, because a batch whose transaction did not commit (a
# killed worker) is delivered again. The exchange's is wired here; layers above this one (the
# playbook engine) append theirs from their task modules at import.
Deliverer = Callable[[list[Event]], None]


def deliver_to_exchange(events: list[Event]) -> None:
    """The stream and webhook subscriptions, from one routing of the batch (audience and
    redaction decided once per event). Both are idempotent: server processes drop a seq they
    relayed already, and a webhook delivery is unique per subscription and event."""
    routes = route_events(events)
    publish_routes(routes)
    deliveries_create(routes=routes)


DELIVERERS: list[Deliverer] = [deliver_to_exchange]


def dispatch_pending(*, batch: int = 500) -> int:
    """Number what is committed, then deliver undispatched events in seq order. Returns how many.

    The sequencer's lock is held while delivering, so batches go out one at a time and in
    order; a second dispatcher waits, then finds little or nothing left.
    """
    sequence_pending()
    total = 0
    while True:
        with transaction.atomic():
            lock_sequencer()
            events = list(
                Event.objects.filter(seq__isnull=False, dispatched_at__isnull=True).order_by("seq")[:batch]
            )
            if not events:
                return total
            for deliver in DELIVERERS:
                deliver(events)
            Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=timezone.now())
        total += len(events)
        if len(events) < batch:
            return total
