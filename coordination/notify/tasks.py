"""Celery tasks of the notification pipeline: thin callers of coordination.notify.sending, by
id, idempotent (a row is claimed before it is sent, so a redelivered task finds nothing due)."""

from celery import shared_task


@shared_task(name="coordination.notify.tasks.send", ignore_result=True)
def send(notification_ids: list[str]) -> dict:
    """Send those of these rows that are due and that no other worker holds."""
    from coordination.notify.sending import send_due

    return send_due(ids=notification_ids, limit=len(notification_ids))


@shared_task(name="coordination.notify.tasks.sweep", ignore_result=True)
def sweep() -> int:
    from coordination.notify.sending import sweep as notifications_sweep

    return notifications_sweep()
