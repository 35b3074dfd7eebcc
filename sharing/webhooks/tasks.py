"""Celery tasks of webhooks: thin callers of sharing.webhooks.services, by id, idempotent."""

from celery import shared_task


@shared_task(name="sharing.webhooks.tasks.deliver", ignore_result=True)
def deliver(delivery_id: str) -> str:
    """One attempt, if the delivery is due and no other worker took it (the claim decides)."""
    from sharing.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="sharing.webhooks.tasks.sweep", ignore_result=True)
def sweep() -> int:
    from sharing.webhooks.services import deliveries_sweep

    return deliveries_sweep()


@shared_task(name="sharing.webhooks.tasks.prune", ignore_result=True)
def prune() -> int:
    from sharing.webhooks.services import deliveries_prune

    return deliveries_prune()
