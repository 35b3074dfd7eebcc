"""The dispatcher's order of work: the stream first, as soon as the numbers are committed; then
webhooks and the deliverers, one dispatcher at a time (PostgreSQL and Redis, real threads)."""

import json
import threading

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from sharing.dispatch import DELIVERERS, dispatch_pending
from sharing.eventlog import Subject, emit_event, number_pending
from sharing.models import Event
from sharing.stream.routing import route_events
from tests.conftest import SHENZHEN

SUBJECT = Subject(type="agreement", id="a1", cluster="GBA", owner=SHENZHEN, jurisdictions=["441900"],
                  data_kind="incidents")


def committed(n: int) -> Event:
    payload = {"id": f"a{n}", "name": "n", "cluster": "GBA", "grantor": SHENZHEN, "grantees": [], "data_kinds": [],
               "categories": [], "level_at_least": "IV", "valid_from": None, "valid_until": None,
               "withheld_fields": [], "is_active": True}
    with transaction.atomic():
        return emit_event("agreement.created", subject=SUBJECT, payload=payload)


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
    first_delivering, release_first = threading.Event(), threading.Event()
    delivered: list[list[int]] = []
    errors: list[BaseException] = []

    def slow_deliverer(events):
        delivered.append([event.seq for event in events])
        if len(delivered) == 1:
            first_delivering.set()
            release_first.wait(20)

    def dispatch():
        try:
            dispatch_pending()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    DELIVERERS.append(slow_deliverer)
    try:
        first = committed(1)
        busy = threading.Thread(target=dispatch)
        busy.start()
        assert first_delivering.wait(20), "the first dispatcher never reached its deliverers"
        second = committed(2)
        other = threading.Thread(target=dispatch)
        other.start()
        first.refresh_from_db()
        published = stream_channel(within=5)
        assert published[:1] == [first.seq]
        second.refresh_from_db()
        assert second.seq in published, "the second event waited for the first dispatcher's deliverers"
        assert not Event.objects.filter(pk=second.pk, dispatched_at__isnull=False).exists()
        release_first.set()
        busy.join(20)
        other.join(20)
    finally:
        release_first.set()
        DELIVERERS.remove(slow_deliverer)
    assert not errors, errors
    assert delivered == [[first.seq], [second.seq]]  # one at a time, in order, once each
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
