"""Deliveries: written by the dispatcher, attempted against a real HTTP receiver on loopback,
signed, retried with backoff, and the subscription disabled when its receiver keeps failing."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.models import Event
from sharing.stream.routes import route_events
from sharing.tasks import dispatch_pending
from sharing.webhooks import sender, services, signing
from sharing.webhooks.models import Delivery, DeliveryState, Subscription
from tests.conftest import DONGGUAN, GUANGZHOU, SHENZHEN, ZHUHAI
from tests.stream.conftest import emit_incidents

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribe(principal_for):
    def make(jurisdiction: str, url: str, *, events=("*",), filters=None):
        actor = principal_for(jurisdiction)
        subscription, secret = services.subscription_create(actor=actor, url=url, events=list(events),
                                                            filters=filters)
        return subscription, secret, actor

    return make


def dispatched(n=1, **kwargs) -> list[Delivery]:
    emit_incidents(n, **kwargs)
    dispatch_pending()
    return list(Delivery.objects.order_by("event_seq"))


def attempt_until(delivery: Delivery, outcomes: set[str], *, timeout: float = 20) -> list[str]:
    """Attempt as a worker would, each time the delivery is due, until one of `outcomes`."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = services.delivery_attempt(delivery_id=delivery.pk)
        if outcome != "not due":
            seen.append(outcome)
        if outcome in outcomes:
            return seen
        time.sleep(0.01)  # the backoff is time passing: nothing to await but the clock
    raise AssertionError(f"no {outcomes} within {timeout}s: {seen}")


def test_it_delivers_the_event_signed_and_redacted_for_the_clients_jurisdiction(subscribe, receiver):
    hook = receiver()
    subscription, secret, _ = subscribe(DONGGUAN, hook.url)
    [delivery] = dispatched(owner=SHENZHEN, concerned=[DONGGUAN], level="III")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"
    [(headers, body)] = hook.requests
    event = json.loads(body)
    assert (event["type"], event["event"], event["seq"]) == ("event", "incident.created", delivery.event_seq)
    assert "casualty_details" not in event["data"] and "contacts" not in event["data"]
    assert signing.verify(headers["liandong-signature"], body, secret)
    assert headers["liandong-delivery"] == str(delivery.pk) and headers["liandong-seq"] == str(delivery.event_seq)
    assert headers["liandong-event"] == "incident.created" and headers["content-type"] == "application/json"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (DeliveryState.DELIVERED, 1, 200)
    assert Event.objects.get().dispatched_at is not None


def test_the_owner_gets_its_own_sensitive_fields(subscribe, receiver):
    hook = receiver()
    subscribe(SHENZHEN, hook.url)
    [delivery] = dispatched(owner=SHENZHEN, level="IV")
    services.delivery_attempt(delivery_id=delivery.pk)
    assert json.loads(hook.requests[0][1])["data"]["casualty_details"]


def test_it_delivers_nothing_the_client_may_not_see(subscribe, receiver):
    subscribe(ZHUHAI, receiver().url)
    assert dispatched(2, owner=SHENZHEN, level="IV") == []  # Shenzhen's level IV stays in Shenzhen
    assert len(dispatched(1, owner=SHENZHEN, level="I")) == 1


def test_event_patterns_and_filters_choose_what_is_delivered(subscribe, receiver):
    url = receiver().url
    by_name, _, _ = subscribe(GUANGZHOU, url, events=["incident.created"])
    by_domain, _, _ = subscribe(GUANGZHOU, url, events=["alert.*"])
    filtered, _, _ = subscribe(GUANGZHOU, url, filters={"categories": ["accident"]})
    dispatched(1, owner=SHENZHEN, level="I", category="natural_disaster")
    dispatched(1, owner=SHENZHEN, level="I", category="accident")
    counts = {sub.pk: Delivery.objects.filter(subscription=sub).count() for sub in (by_name, by_domain, filtered)}
    assert counts == {by_name.pk: 2, by_domain.pk: 0, filtered.pk: 1}


def test_a_dispatch_batch_delivered_again_adds_no_delivery(subscribe, receiver):
    subscribe(DONGGUAN, receiver().url)
    emit_incidents(3, owner=SHENZHEN, level="I")
    dispatch_pending()
    routes = route_events(list(Event.objects.order_by("seq")))
    services.deliveries_create(routes=routes)  # the batch again, as after a killed worker
    assert Delivery.objects.count() == 3


def test_a_receiver_failing_the_first_times_gets_the_event_once_in_effect(subscribe, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
    hook = receiver(fail_first=3, status=503)
    subscription, secret, _ = subscribe(DONGGUAN, hook.url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    assert attempt_until(delivery, {"delivered"}) == ["retry", "retry", "retry", "delivered"]
    bodies = {body for _, body in hook.requests}
    assert len(hook.requests) == 4 and len(bodies) == 1  # the same bytes every time
    assert {headers["liandong-delivery"] for headers, _ in hook.requests} == {str(delivery.pk)}
    assert [headers["liandong-attempt"] for headers, _ in hook.requests] == ["1", "2", "3", "4"]
    assert all(signing.verify(headers["liandong-signature"], body, secret) for headers, body in hook.requests)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and len(delivery.history) == 4
    assert [entry["status"] for entry in delivery.history] == [503, 503, 503, 200]
    subscription.refresh_from_db()
    assert (subscription.consecutive_failures, subscription.failing_since) == (0, None)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 302])
def test_a_permanent_error_is_not_retried(subscribe, receiver, status):
    hook = receiver(fail_first=5, status=status)
    subscribe(DONGGUAN, hook.url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "failed"
    assert services.delivery_attempt(delivery_id=delivery.pk) == "not due"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.FAILED, status)


def test_it_gives_up_after_the_last_attempt(subscribe, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_MAX_ATTEMPTS = 0.01, 3
    subscribe(DONGGUAN, receiver(fail_first=10).url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    assert attempt_until(delivery, {"failed"}) == ["retry", "retry", "failed"]


def test_retry_after_is_honoured(subscribe, receiver):
    subscribe(DONGGUAN, receiver(fail_first=1, status=429, headers={"Retry-After": "120"}).url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    before = timezone.now()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=119)


def test_a_receiver_that_never_answers_is_disabled_with_an_event(subscribe, receiver, settings, api_as):
    settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3, 0.01
    settings.WEBHOOK_DISABLE_AFTER_FAILURES, settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3, 0
    subscription, _, _ = subscribe(DONGGUAN, receiver(hang=True).url)
    first, second = dispatched(2, owner=SHENZHEN, level="I")
    assert attempt_until(first, {"disabled"}) == ["retry", "retry", "disabled"]
    subscription.refresh_from_db()
    assert not subscription.is_active and "3 failed attempts in a row" in subscription.disabled_reason
    assert "timed out" in subscription.disabled_reason
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.CANCELLED}
    assert services.delivery_attempt(delivery_id=second.pk) == "not due"
    notice = Event.objects.get(name="webhook.disabled")
    assert notice.payload["subscription"] == str(subscription.pk) and notice.payload["url_host"] == "127.0.0.1"
    dispatch_pending()
    seen_by_owner = api_as(DONGGUAN).get("/api/v1/events/").json()["results"]
    assert [m["event"] for m in seen_by_owner][-1] == "webhook.disabled"
    assert "webhook.disabled" not in [m["event"] for m in api_as(SHENZHEN).get("/api/v1/events/").json()["results"]]


def test_a_receiver_is_not_disabled_before_its_failures_have_lasted(subscribe, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
    settings.WEBHOOK_DISABLE_AFTER_FAILURES, settings.WEBHOOK_DISABLE_AFTER_SECONDS = 2, 3600
    subscription, _, _ = subscribe(DONGGUAN, receiver(fail_first=100).url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    attempt_until(delivery, {"retry"})
    attempt_until(delivery, {"retry"})
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 2


def test_only_one_worker_gets_to_attempt_a_delivery(subscribe, receiver):
    subscribe(DONGGUAN, receiver().url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    now = timezone.now()
    assert services._claim(delivery.pk, now) is True
    assert services._claim(delivery.pk, now) is False
    assert services.delivery_attempt(delivery_id=delivery.pk) == "not due"


def test_the_claim_of_a_worker_that_died_is_taken_over_after_its_lease(subscribe, receiver):
    hook = receiver()
    subscribe(DONGGUAN, hook.url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENDING,
                                                   claimed_at=timezone.now() - services.CLAIM_LEASE * 2)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"


def test_the_sweep_finds_what_is_due_and_not_taken(subscribe, receiver):
    subscribe(DONGGUAN, receiver().url)
    deliveries = dispatched(3, owner=SHENZHEN, level="I")
    assert services.deliveries_sweep() == 0  # just written: their tasks are on the way
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=30))
    Delivery.objects.filter(pk=deliveries[0].pk).update(state=DeliveryState.DELIVERED)
    assert services.deliveries_sweep() == 2


def test_backoff_grows_exponentially_with_jitter_and_is_bounded(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 10, 300
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (20, 300)]:
        delays = {services.retry_delay(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays) and len(delays) > 1


def test_an_address_refused_since_the_subscription_was_made_fails_for_good(subscribe, receiver, settings):
    subscribe(DONGGUAN, receiver().url)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert services.delivery_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused:")


def test_the_attempt_connects_to_the_checked_address_under_the_urls_host_name(subscribe, receiver):
    hook = receiver()
    subscribe(DONGGUAN, hook.url.replace("127.0.0.1", "localhost"))
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert hook.requests[0][0]["host"] == f"localhost:{hook.server.server_address[1]}"


def test_after_a_rotation_deliveries_carry_both_signatures_for_the_grace_period(subscribe, receiver, settings):
    hook = receiver()
    subscription, old_secret, actor = subscribe(DONGGUAN, hook.url)
    _, new_secret = services.subscription_rotate_secret(actor=actor, subscription_id=subscription.pk)
    [delivery] = dispatched(owner=SHENZHEN, level="I")
    services.delivery_attempt(delivery_id=delivery.pk)
    headers, body = hook.requests[0]
    assert headers["liandong-signature"].count("v1=") == 2
    assert signing.verify(headers["liandong-signature"], body, old_secret)
    assert signing.verify(headers["liandong-signature"], body, new_secret)


def test_a_signature_holds_only_for_its_secret_body_and_time():
    body, secret = b'{"seq":1}', signing.secret_for("salt")
    header = signing.signature_header(secrets_=[secret], timestamp=int(time.time()), body=body)
    assert signing.verify(header, body, secret)
    assert not signing.verify(header, body, signing.secret_for("other"))
    assert not signing.verify(header, b'{"seq":2}', secret)
    assert not signing.verify(header, body, secret, now=time.time() + 301)
    assert not signing.verify("v1=abc", body, secret)


def test_address_rules():
    assert sender.address_allowed("8.8.8.8")
    for never in ("169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "100.64.0.1", "::ffff:169.254.169.254"):
        assert not sender.address_allowed(never), never


def test_finished_deliveries_are_pruned_after_the_retention(subscribe, receiver, settings):
    subscribe(DONGGUAN, receiver().url)
    old, recent = dispatched(2, owner=SHENZHEN, level="I")
    Delivery.objects.filter(pk=old.pk).update(state=DeliveryState.DELIVERED,
                                              created_at=timezone.now() - timedelta(days=31))
    assert services.deliveries_prune() == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]


def test_deleted_subscription_takes_its_log_with_it(subscribe, receiver):
    subscription, _, actor = subscribe(DONGGUAN, receiver().url)
    dispatched(owner=SHENZHEN, level="I")
    services.subscription_delete(actor=actor, subscription_id=subscription.pk)
    assert not Subscription.objects.exists() and not Delivery.objects.exists()
