"""The exchange's endpoints: the event log and webhook subscriptions."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sharing.api.events import EventLogApi
from sharing.api.webhooks import WebhookSubscriptionViewSet

router = SimpleRouter()
router.register("webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription")

urlpatterns = [
    path("events/", EventLogApi.as_view(), name="event-log"),
    *router.urls,
]
