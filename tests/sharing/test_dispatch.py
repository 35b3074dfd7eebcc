"""The dispatcher's order of work: the stream first, as soon as the numbers are committed; then
webhooks and the playbook engine, one dispatcher at a time (PostgreSQL and Redis, real threads).

A delivery that takes long or fails is a real one: another transaction holds the table of
webhook subscriptions, which the dispatcher reads for every batch it delivers."""

import json
import threading
import time
from contextlib import contextmanager

import pytest
import redis
from django.conf import settings
from django.db import OperationalError, connection, transaction

from sharing.eventlog import Subject, emit_event, number_pending
from sharing.models import Event
from sharing.stream.routes import route_events
from sharing.tasks import dispatch_pending
from sharing.webhooks.models import Delivery, Subscription
from sharing.webhooks.services import subscription_create
from tests.conftest import SHENZHEN

SUBJECT = Subject(type="agreement", id="a1", cluster="GBA", owner=SHENZHEN, jurisdictions=["441900"],
                  data_kind="incidents")


def committed(n: int) -> Event:
    payload = {"id": f"a{n}", "name": "n", "cluster": "GBA", "grantor": SHENZHEN, "grantees": [], "data_kinds": [],
               "categories": [], "level_at_least": "IV", "valid_from": None, "valid_until": None,
               "withheld_fields": [], "is_active": True}
    with transaction.atomic():
        return emit_event("agreement.created", subject=SUBJECT, payload=payload)


@contextmanager
def holding_lock_on(model):
    """Another connection holds `model`'s table exclusively until the block ends (PostgreSQL)."""
    table = model._meta.db_table
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(20), f"could not lock {table}"
        yield table
    finally:
        release.set()
        holder.join(20)


def waiting_for(table: str, *, within: float = 20) -> None:
    """Until a transaction waits for the lock on `table` (the dispatcher, delivering)."""
    deadline = time.monotonic() + within
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [table])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)  # pg_locks can only be polled
    raise AssertionError(f"nothing waited for {table} within {within}s")


@pytest.fixture
def stream_channel(redis_url):
    """What the dispatcher publishes to the server processes, read as they read it."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(settings.STREAM_REDIS_CHANNEL)
    pubsub.get_message(timeout=2)  # the subscription's confirmation

    def published_seqs(*, within: float) -> list[int]:
        seqs = []
        message = pubsub.get_message(timeout=within)
        while message is not None:
            seqs.append(json.loads(message["data"])["seq"])
            message = pubsub.get_message(timeout=0.2)
        return seqs

    yield published_seqs
    pubsub.close()
    client.close()


@pytest.mark.django_db(transaction=True)
def test_the_stream_does_not_wait_for_a_dispatcher_that_is_delivering(postgres, stream_channel):
    """A dispatcher whose webhooks or playbook engine take long must not hold up the next
    event's way to subscribers (until 2026-11 it held the sequencer's lock meanwhile)."""
    errors: list[BaseException] = []

    def dispatch():
        try:
            dispatch_pending()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    first = committed(1)
    with holding_lock_on(Subscription) as table:
        busy = threading.Thread(target=dispatch)
        busy.start()
        waiting_for(table)  # the first dispatcher has taken its batch and is delivering it
        second = committed(2)
        other = threading.Thread(target=dispatch)
        other.start()
        first.refresh_from_db()
        published = stream_channel(within=5)
        assert published[:1] == [first.seq]
        second.refresh_from_db()
        assert second.seq in published, "the second event waited for the first dispatcher's deliveries"
        assert not Event.objects.filter(dispatched_at__isnull=False).exists()
    busy.join(20)
    other.join(20)
    assert not errors, errors
    first.refresh_from_db()
    second.refresh_from_db()
    # One at a time and in order: the second batch was delivered after the first committed.
    assert first.dispatched_at < second.dispatched_at
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_events_a_dispatcher_numbered_before_it_died_are_published_by_the_next(postgres, stream_channel):
    event = committed(1)
    (numbered,) = number_pending()  # and the dispatcher is killed before its PUBLISH
    assert numbered.pk == event.pk and numbered.payload["id"] == "a1"
    assert stream_channel(within=0.5) == []
    assert dispatch_pending() == 1
    assert stream_channel(within=5) == [numbered.seq]
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db
def test_numbering_returns_the_events_whole_and_in_seq_order():
    for n in range(3):
        committed(n)
    numbered = number_pending(batch=2)
    assert [event.payload["id"] for event in numbered] == ["a0", "a1"]
    assert [event.seq for event in numbered] == sorted(event.seq for event in numbered)
    assert all(event.sequenced_at is not None and event.jurisdiction_codes == [SHENZHEN, "441900"]
               for event in numbered)
    assert [event.payload["id"] for event in number_pending()] == ["a2"]


@pytest.mark.django_db
def test_each_route_names_the_seq_below_it_as_the_one_before():
    """A server process that has not relayed the event below repairs from the log first, so a
    batch with holes in it (events another dispatcher published) must not link across them."""
    events = [committed(n) for n in range(4)]
    dispatch_pending()
    for event in events:
        event.refresh_from_db()
    routes = route_events([events[0], events[2], events[3]])
    assert [(route.seq, route.prev) for route in routes] == [(event.seq, event.seq - 1)
                                                             for event in (events[0], events[2], events[3])]


@pytest.mark.django_db
def test_dispatch_delivers_each_event_once_in_order(principal_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    subscription_create(actor=principal_for(SHENZHEN), url="http://127.0.0.1:9/hook", events=["agreement.*"])
    for n in range(3):
        committed(n)
    assert dispatch_pending(batch=1) == 3  # a delivering transaction per event
    assert dispatch_pending() == 0
    events = list(Event.objects.order_by("seq"))
    assert list(Delivery.objects.order_by("event_seq").values_list("event_seq", flat=True)) == [e.seq for e in events]
    stamps = [event.dispatched_at for event in events]
    assert None not in stamps and stamps == sorted(stamps) and len(set(stamps)) == 3


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_leaves_the_events_for_the_relay(postgres):
    """The delivering transaction fails as a whole (here the webhook deliveries cannot read the
    subscriptions: another transaction holds their table): nothing is marked dispatched."""
    committed(1)
    with holding_lock_on(Subscription):
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                dispatch_pending()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert Event.objects.filter(dispatched_at__isnull=True, seq__isnull=False).count() == 1
    assert dispatch_pending() == 1
