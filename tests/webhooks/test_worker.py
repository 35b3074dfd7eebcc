"""Webhooks through a real Celery worker process and Redis: retries that end in exactly one
delivery in effect, and a receiver that never answers being disabled."""

import json
import time

import pytest

from sharing.models import Event
from sharing.webhooks import services, signing
from sharing.webhooks.models import Delivery, DeliveryState, Subscription
from tests.conftest import DONGGUAN, SHENZHEN
from tests.stream.conftest import emit_incidents

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.services]


@pytest.fixture
def services_up(postgres, redis_url):
    return redis_url


def eventually(condition, *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_a_receiver_failing_its_first_answers_gets_each_event_once_in_effect(services_up, processes, receiver,
                                                                              principal_for):
    processes.worker(WEBHOOK_RETRY_BASE_SECONDS="0.2")
    hook = receiver(fail_first=3, status=500)
    actor = principal_for(DONGGUAN)
    subscription, secret = services.subscription_create(actor=actor, url=hook.url, events=["incident.*"])
    emit_incidents(2, owner=SHENZHEN, concerned=[DONGGUAN], level="III")
    eventually(lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 2,
               what="both deliveries delivered")
    # The receiver dedupes on seq (or Liandong-Delivery): what it acted on is each event once.
    effective = {json.loads(body)["seq"]: body for _, body in hook.requests}
    assert sorted(effective) == sorted(Event.objects.values_list("seq", flat=True))
    assert len(hook.requests) == 5  # three refusals, then one success per event
    assert all(signing.verify(headers["liandong-signature"], body, secret) for headers, body in hook.requests)
    assert sum(Delivery.objects.values_list("attempts", flat=True)) == 5


def test_a_receiver_that_never_answers_is_disabled(services_up, processes, receiver, principal_for):
    processes.worker(WEBHOOK_TIMEOUT_SECONDS="0.5", WEBHOOK_RETRY_BASE_SECONDS="0.2",
                     WEBHOOK_DISABLE_AFTER_FAILURES="3", WEBHOOK_DISABLE_AFTER_SECONDS="0")
    hook = receiver(hang=True)
    actor = principal_for(DONGGUAN)
    subscription, _ = services.subscription_create(actor=actor, url=hook.url, events=["*"])
    emit_incidents(1, owner=SHENZHEN, concerned=[DONGGUAN], level="III")
    eventually(lambda: not Subscription.objects.get().is_active, what="the subscription disabled")
    eventually(lambda: Event.objects.filter(name="webhook.disabled", seq__isnull=False).exists(),
               what="webhook.disabled numbered")
    assert len(hook.requests) == 3
    assert Delivery.objects.get().state == DeliveryState.CANCELLED
