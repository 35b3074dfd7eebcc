"""Celery tasks of the sharing side: event dispatch, the relay, retention.

The dispatch is an edge (docs/architecture.md, "Layers"): it calls down into both sides, the
stream and webhooks of `sharing` and the playbook engine of `coordination`, so neither needs to
know the other. It lives here rather than in a module of its own because the event log and
beat ask for these tasks by name (sharing.eventlog.DISPATCH_TASK, config.celery), and Celery
finds an app's `tasks` module by itself.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coordination.workflows.triggers import on_events
from sharing.dispatch import Dispatcher
from sharing.eventlog import dispatch_starting
from sharing.models import Event
from sharing.webhooks.services import deliveries_create


def dispatch_pending(*, batch: int = 500) -> int:
    """Number what is committed and publish it to the stream at once; then, in one transaction
    per batch, hand the undispatched events (oldest first) to webhooks and the playbook engine
    and mark them dispatched. Returns how many were delivered.

    Both deliveries run inside the delivering transaction and must be idempotent: a batch whose
    transaction did not commit (a killed worker) is delivered again.
    """
    dispatcher = Dispatcher(batch=batch)
    total = 0
    while True:
        numbered = dispatcher.publish_numbered()
        with transaction.atomic():
            events = dispatcher.take_undispatched()
            if events:
                deliveries_create(routes=dispatcher.routes_of(events))
                on_events(events)
                dispatcher.mark_dispatched(events)
        total += len(events)
        if numbered < batch and len(events) < batch:
            return total


@shared_task(name="sharing.tasks.dispatch_events", ignore_result=True)
def dispatch_events() -> int:
    """Requested after every commit that wrote events (sharing.eventlog.request_dispatch)."""
    dispatch_starting()
    return dispatch_pending()


@shared_task(name="sharing.tasks.relay_events", ignore_result=True)
def relay_events() -> int:
    """The safety net, every few seconds from beat: a lost dispatch request or a worker killed
    mid-dispatch delays events, never loses them."""
    return dispatch_pending()


@shared_task(name="sharing.tasks.prune_events", ignore_result=True)
def prune_events() -> int:
    """Drop dispatched events older than EVENT_RETENTION_DAYS (replays older than that use
    nothing: the stream's replay bound is far shorter)."""
    cutoff = timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted, _ = Event.objects.filter(at__lt=cutoff, dispatched_at__isnull=False).delete()
    return deleted
