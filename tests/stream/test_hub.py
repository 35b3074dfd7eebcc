"""The per-process hub: ordered, non-blocking delivery to each connection, and gap repair."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from sharing.eventlog import sequence_pending
from sharing.stream.hub import CLOSE_TOO_SLOW, Credential, Hub, Subscriber
from sharing.stream.routes import Route, RouteGroup
from sharing.stream.selectors import routes_between
from tests.conftest import DONGGUAN, SHENZHEN
from tests.stream.conftest import emit_incidents


def text(message: dict) -> str:
    return message["text"]


def message(body: str) -> dict:
    return {"type": "websocket.send", "text": body}


class Socket:
    """A client socket: sends complete at once unless the test holds a message back."""

    def __init__(self, *, hold: set[str] = frozenset(), fail: bool = False):
        self.sent: list[str] = []
        self.closed_with: list[int] = []
        self.hold = set(hold)
        self.gate = asyncio.get_running_loop().create_future()
        self.fail = fail

    async def send(self, message: dict) -> None:
        if self.fail:
            raise ConnectionResetError("client went away")
        if message["text"] in self.hold:
            await self.gate
        self.sent.append(message["text"])

    async def close(self, code: int) -> None:
        self.closed_with.append(code)

    def subscriber(self, *, outbox_size: int = 10) -> Subscriber:
        subscriber = Subscriber(jurisdiction=DONGGUAN, is_coordinator=False, credential=Credential(token_id=1),
                                send=self.send, close=self.close, outbox_size=outbox_size)
        subscriber.go_live()
        return subscriber


async def test_a_send_that_must_wait_finishes_in_order_while_later_messages_queue():
    socket = Socket(hold={"b"})
    subscriber = socket.subscriber()
    for body in "abcd":
        subscriber.push(message(body))
    assert socket.sent == ["a"] and subscriber.queued == 2
    socket.gate.set_result(None)
    while subscriber.queued or len(socket.sent) < 4:
        await asyncio.sleep(0)
    assert socket.sent == ["a", "b", "c", "d"]
    subscriber.push(message("e"))
    assert socket.sent[-1] == "e"  # the outbox is empty again: straight out


async def test_a_client_that_does_not_read_is_closed_when_its_outbox_is_full_and_stalls_nothing():
    slow, fast = Socket(hold={"1"}), Socket()
    slow_subscriber, fast_subscriber = slow.subscriber(outbox_size=3), fast.subscriber(outbox_size=3)
    for n in range(6):
        slow_subscriber.push(message(str(n)))
        fast_subscriber.push(message(str(n)))
    assert fast.sent == ["0", "1", "2", "3", "4", "5"]
    assert slow_subscriber.closed
    await asyncio.sleep(0)
    assert slow.closed_with == [CLOSE_TOO_SLOW]


async def test_a_client_that_went_away_is_closed_at_the_first_send():
    socket = Socket(fail=True)
    subscriber = socket.subscriber()
    subscriber.push(message("a"))
    assert subscriber.closed and socket.sent == []


async def test_while_catching_up_live_events_wait_and_duplicates_of_the_replay_are_dropped():
    socket = Socket()
    subscriber = Subscriber(jurisdiction=DONGGUAN, is_coordinator=False, credential=Credential(token_id=1),
                            send=socket.send, close=socket.close)
    route = Route(seq=0, prev=0, name="x", category="", level="", jurisdictions=(), groups=())
    for seq in (5, 6, 7):
        subscriber.offer(seq, message(str(seq)), route)
    assert socket.sent == []
    await subscriber.send_direct(message("5"))  # the replay got as far as 6
    await subscriber.send_direct(message("6"))
    subscriber.last_seq = 6
    subscriber.go_live()
    assert socket.sent == ["5", "6", "7"]


async def test_a_live_buffer_that_overflows_during_the_replay_asks_for_another_read_of_the_log():
    socket = Socket()
    subscriber = Subscriber(jurisdiction=DONGGUAN, is_coordinator=False, credential=Credential(token_id=1),
                            send=socket.send, close=socket.close, outbox_size=2)
    route = Route(seq=0, prev=0, name="x", category="", level="", jurisdictions=(), groups=())
    for seq in (1, 2, 3):
        subscriber.offer(seq, message(str(seq)), route)
    assert subscriber.reread and not subscriber.closed


# --- the hub against the event log ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_hub_relays_missed_events_from_the_log_before_the_next_one(gba):
    await database_sync_to_async(emit_incidents)(1, owner=SHENZHEN, level="I")
    await database_sync_to_async(sequence_pending)()
    hub = Hub(asyncio.get_running_loop())
    hub.last_seq = await database_sync_to_async(lambda: routes_between(after=0, upto=10, limit=10)[-1].seq)()
    start = hub.last_seq
    socket = Socket()
    hub.add(socket.subscriber())
    await database_sync_to_async(emit_incidents)(3, owner=SHENZHEN, concerned=[DONGGUAN], level="II")
    await database_sync_to_async(sequence_pending)()
    routes = await database_sync_to_async(routes_between)(after=start, upto=start + 3, limit=10)
    # The first two were never heard (a Redis restart); the third comes with prev = the second.
    await hub.accept(routes[2])
    assert [json.loads(body)["seq"] for body in socket.sent] == [start + 1, start + 2, start + 3]
    await hub.accept(routes[1])  # a re-dispatched batch: already relayed
    assert len(socket.sent) == 3


@pytest.mark.django_db(transaction=True)
async def test_the_hub_catches_up_with_the_log_when_it_checks(gba):
    hub = Hub(asyncio.get_running_loop())
    hub.last_seq = 0
    socket = Socket()
    hub.add(socket.subscriber())
    await database_sync_to_async(emit_incidents)(2, owner=SHENZHEN, concerned=[DONGGUAN], level="II")
    await database_sync_to_async(sequence_pending)()
    await hub.check()
    assert len(socket.sent) == 2 and hub.last_seq == 2


async def test_coordinators_get_what_they_see_only_as_coordinators_and_others_do_not():
    hub = Hub(asyncio.get_running_loop())
    hub.last_seq = 0
    plain, coordinator = Socket(), Socket()
    hub.add(plain.subscriber())
    coordinator_subscriber = Subscriber(jurisdiction=DONGGUAN, is_coordinator=True,
                                        credential=Credential(token_id=2), send=coordinator.send,
                                        close=coordinator.close)
    coordinator_subscriber.go_live()
    hub.add(coordinator_subscriber)
    route = Route(seq=1, prev=0, name="incident.created", category="accident", level="IV", jurisdictions=(SHENZHEN,),
                  groups=(RouteGroup('{"seq":1}', frozenset({SHENZHEN}), frozenset({DONGGUAN})),))
    await hub.accept(route)
    assert (plain.sent, coordinator.sent) == ([], ['{"seq":1}'])


async def test_the_embedded_feed_stops_when_cancelled_as_a_route_arrives(settings):
    """A cancellation that arrives together with a route (the dispatcher hands one over as the
    hub is stopped) ends the feed; on Python 3.11 asyncio.wait_for swallowed it and the feed
    ran on, so an event loop's teardown waited for it forever."""
    settings.STREAM_HUB_CHECK_SECONDS = 60
    hub = Hub(asyncio.get_running_loop())
    feed = asyncio.get_running_loop().create_task(hub._inbox_feed())
    for _ in range(3):  # the feed is now waiting on its inbox
        await asyncio.sleep(0)
    hub.submit(Route(seq=1, prev=0, name="incident.reported", category="natural_disaster", level="IV",
                     jurisdictions=(), groups=()))
    feed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(feed, timeout=5)
