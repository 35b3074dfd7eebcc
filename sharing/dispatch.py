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

logger = logging.getLogger("liandong.dispatch")

# Each deliverer gets a batch of numbered events in seq order, inside the dispatch
# transaction; it must be idempotent, because a batch whose transaction did not commit (a
# killed worker) is delivered again. Registered by the edges (sharing.tasks) at import.
Deliverer = Callable[[list[Event]], None]
DELIVERERS: list[Deliverer] = []


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
