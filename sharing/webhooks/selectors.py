"""Reads of webhook subscriptions: a client sees its own, nobody else's (another's is a 404)."""

import uuid

from django.db.models import QuerySet

from config.errors import NotFound, PermissionDenied
from coordination.principals import Principal
from coordination.roles import Action
from sharing.webhooks.models import Delivery, Subscription


def require_client(actor: Principal) -> None:
    if actor.kind != "client" or not actor.can(Action.READ):
        raise PermissionDenied("Webhook subscriptions belong to API clients with the read scope.")


def subscription_list(*, actor: Principal) -> QuerySet[Subscription]:
    require_client(actor)
    return Subscription.objects.filter(client_id=actor.client_id).order_by("created_at")


def subscription_get(*, actor: Principal, subscription_id) -> Subscription:
    require_client(actor)
    try:
        return Subscription.objects.get(pk=uuid.UUID(str(subscription_id)), client_id=actor.client_id)
    except (ValueError, Subscription.DoesNotExist):
        raise NotFound("No such webhook subscription.") from None


def delivery_list(*, actor: Principal, subscription_id, state: str | None = None) -> QuerySet[Delivery]:
    """The delivery log of one of the caller's subscriptions, newest first."""
    subscription = subscription_get(actor=actor, subscription_id=subscription_id)
    deliveries = Delivery.objects.filter(subscription=subscription).defer("body").order_by("-created_at", "-event_seq")
    return deliveries.filter(state=state) if state else deliveries
