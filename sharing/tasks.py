"""Celery tasks of the sharing side: event dispatch, the relay, retention."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from coordination.workflows.triggers import on_events
from sharing.dispatch import DELIVERERS

# This module is an edge (docs/architecture.md, "Layers"): it hands dispatched events to the playbook
# engine above the sharing layer, which dispatch itself must not import.
DELIVERERS.append(on_events)


@shared_task(name="sharing.tasks.dispatch_events", ignore_result=True)
def dispatch_events() -> int:
    """Requested after every commit that wrote events (sharing.eventlog.request_dispatch)."""
    from sharing.dispatch import dispatch_pending
    from sharing.eventlog import dispatch_starting

    dispatch_starting()
    return dispatch_pending()


@shared_task(name="sharing.tasks.relay_events", ignore_result=True)
def relay_events() -> int:
    """The safety net, every few seconds from beat: a lost dispatch request or a worker killed
    mid-dispatch delays events, never loses them."""
    from sharing.dispatch import dispatch_pending

    return dispatch_pending()


@shared_task(name="sharing.tasks.prune_events", ignore_result=True)
def prune_events() -> int:
    """Drop dispatched events older than EVENT_RETENTION_DAYS (replays older than that use
    nothing: the stream's replay bound is far shorter)."""
    from sharing.models import Event

    cutoff = timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted, _ = Event.objects.filter(at__lt=cutoff, dispatched_at__isnull=False).delete()
    return deleted
