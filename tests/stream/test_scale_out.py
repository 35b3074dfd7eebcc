"""The stream across real processes: two uvicorn servers, a Celery worker, Redis and PostgreSQL.

The reliability tests of issue 4: reconnect with `since`, Redis flushed and the servers'
subscriptions cut while events are produced, the worker killed in the middle of a dispatch,
and the visibility rule for every demo jurisdiction. Events are produced by this test process
(committed rows, a dispatch request through the real broker) or through a server's HTTP API.
"""

import asyncio
import json
import threading

import httpx
import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect

from sharing.models import Event
from tests.conftest import DONGGUAN, GBA_CODES, GUANGZHOU, HONG_KONG, SHENZHEN, ZHUHAI
from tests.stream.conftest import emit_incidents

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.services]


@pytest.fixture
def services(postgres, redis_url):
    return redis_url


@pytest.fixture
def token(credentials):
    return database_sync_to_async(credentials.token)


async def open_stream(port: int, token: str, *, since: int | None = None):
    query = f"?since={since}" if since is not None else ""
    ws = await connect(f"ws://127.0.0.1:{port}/ws/v1/stream/{query}", open_timeout=10,
                       additional_headers={"Authorization": f"Bearer {token}"})
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello", hello
    return ws, hello


async def collect(ws, n: int, *, timeout: float = 60) -> list[dict]:
    events = []
    async with asyncio.timeout(timeout):
        while len(events) < n:
            message = json.loads(await ws.recv())
            if message["type"] == "event":
                events.append(message)
            else:
                assert message["type"] == "heartbeat", message
    return events


async def nothing_more(ws, *, wait: float = 1.0) -> bool:
    """No further event arrives within `wait` (heartbeats aside)."""
    try:
        async with asyncio.timeout(wait):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] != "heartbeat":
                    return False
    except TimeoutError:
        return True


def produce(n: int, **kwargs) -> list[str]:
    """n committed incident.created events, one transaction each; returns their incident ids."""
    ids = []
    for _ in range(n):
        emit_incidents(1, **kwargs)
        ids.append(Event.objects.order_by("-id").values_list("payload__id", flat=True).first())
    return ids


async def all_dispatched(total: int, *, timeout: float = 60) -> None:
    def count() -> int:
        return Event.objects.filter(seq__isnull=False, dispatched_at__isnull=False).count()

    async with asyncio.timeout(timeout):
        while await database_sync_to_async(count)() < total:
            await asyncio.sleep(0.05)


# --- scale-out -----------------------------------------------------------------------------------


async def test_a_subscriber_on_one_server_gets_an_incident_posted_to_another(services, processes, token):
    (_, port_a), (_, port_b) = processes.server(), processes.server()
    processes.worker()
    dongguan, shenzhen = await token(DONGGUAN), await token(SHENZHEN)
    ws, hello = await open_stream(port_b, dongguan)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}",
                                 headers={"Authorization": f"Bearer {shenzhen}"}) as http:
        response = await http.post("/api/v1/incidents/", json={
            "title": "Flooding at the Shenzhen River", "category": "natural_disaster", "type": "flood",
            "level": "II", "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.54, "lon": 114.1},
        })
        assert response.status_code == 201, response.text
    [message] = await collect(ws, 1, timeout=20)
    assert (message["event"], message["data"]["id"]) == ("incident.created", response.json()["id"])
    assert message["seq"] > hello["seq"]
    await ws.close()


async def test_subscribers_on_both_servers_get_every_event_once_in_order(services, processes, token):
    (_, port_a), (_, port_b) = processes.server(), processes.server()
    processes.worker()
    raw = await token(HONG_KONG)
    (ws_a, hello), (ws_b, _) = await open_stream(port_a, raw), await open_stream(port_b, raw)
    ids = await database_sync_to_async(produce)(20, owner=SHENZHEN, level="I")
    for ws in (ws_a, ws_b):
        received = await collect(ws, 20)
        assert [m["data"]["id"] for m in received] == ids
        assert [m["seq"] for m in received] == list(range(hello["seq"] + 1, hello["seq"] + 21))
        assert await nothing_more(ws)
        await ws.close()


# --- reliability ---------------------------------------------------------------------------------


async def test_a_subscriber_that_reconnects_with_since_gets_exactly_what_it_missed(services, processes, token):
    (_, port_a), (_, port_b) = processes.server(), processes.server()
    processes.worker()
    raw = await token(GUANGZHOU)
    ws, _ = await open_stream(port_a, raw)
    await database_sync_to_async(produce)(3, owner=SHENZHEN, level="II")
    seen = await collect(ws, 3)
    await ws.close()
    missed = await database_sync_to_async(produce)(7, owner=SHENZHEN, level="II")
    await database_sync_to_async(produce)(2, owner=SHENZHEN, level="IV")  # Guangzhou may not see these
    ws, _ = await open_stream(port_b, raw, since=seen[-1]["seq"])
    received = await collect(ws, 7)
    assert [m["data"]["id"] for m in received] == missed
    seqs = [m["seq"] for m in received]
    assert seqs == sorted(set(seqs)) and seqs[0] > seen[-1]["seq"]
    assert await nothing_more(ws)
    await ws.close()


def cut_stream_connections(pids: list[int]) -> int:
    """What a Redis restart does to the servers' subscriptions and the worker's publisher:
    their connections drop (only ours: the Redis server is shared)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    killed = 0
    for info in client.client_list():
        name = info.get("name", "")
        if name.startswith("liandong-stream-") and int(name.rsplit("-", 1)[1]) in pids:
            killed += client.client_kill_filter(_id=info["id"])
    client.close()
    return killed


async def test_nothing_is_lost_when_redis_is_flushed_and_the_subscriptions_drop(services, processes, token):
    (server_a, port_a), (server_b, port_b) = processes.server(), processes.server()
    worker = processes.worker()
    raw = await token(ZHUHAI)
    (ws_a, hello), (ws_b, _) = await open_stream(port_a, raw), await open_stream(port_b, raw)
    total, produced, stop = 60, [], threading.Event()

    def producer():
        try:
            for _ in range(total):
                produced.extend(produce(1, owner=GUANGZHOU, level="I"))
                stop.wait(0.02)
        finally:
            connection.close()

    thread = threading.Thread(target=producer)
    thread.start()
    reconnected = None
    while len(produced) < total and thread.is_alive():
        if 10 <= len(produced) and reconnected is None:
            redis.Redis.from_url(settings.REDIS_URL).flushdb()  # queued dispatch requests are gone
            children = [server_a.pid, server_b.pid, worker.pid] + _children(worker.pid)
            assert await asyncio.to_thread(cut_stream_connections, children) >= 2
            # A third subscriber reconnects with since while the servers are resubscribing.
            reconnected = await open_stream(port_b, raw, since=hello["seq"])
        await asyncio.sleep(0.05)
    thread.join()
    await all_dispatched(total)
    for ws, _ in ((ws_a, None), (ws_b, None), reconnected):
        received = await collect(ws, total)
        assert [m["data"]["id"] for m in received] == produced
        assert await nothing_more(ws)
        await ws.close()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


async def test_a_worker_killed_mid_dispatch_leaves_nothing_undispatched(services, processes, token):
    (_, port), _ = processes.server(), None
    worker = processes.worker()
    raw = await token(DONGGUAN)
    ws, hello = await open_stream(port, raw)
    total = 3000

    def bulk():
        try:
            emit_incidents(total, owner=SHENZHEN, concerned=[DONGGUAN], level="III")
        finally:
            connection.close()

    def dispatched() -> int:
        try:
            return Event.objects.filter(dispatched_at__isnull=False).count()
        finally:
            connection.close()

    # Produced in a thread of its own: the dispatch starts at the commit, while the 3,000
    # dispatch requests are still being sent, and the kill must land in the middle of it.
    thread = threading.Thread(target=bulk)
    thread.start()
    async with asyncio.timeout(60):
        while (done := await asyncio.to_thread(dispatched)) == 0:
            await asyncio.sleep(0.005)
    worker.kill()
    # Joined off the event loop: a loop blocked while a loaded machine writes the 3,000 would
    # not answer the server's keepalive pings, and the stream would close under the test.
    await asyncio.to_thread(thread.join)
    assert done < total, "the dispatch finished before the kill"
    processes.worker()
    await all_dispatched(total)
    received = await collect(ws, total, timeout=120)
    seqs = [m["seq"] for m in received]
    assert seqs == list(range(hello["seq"] + 1, hello["seq"] + total + 1))
    assert await nothing_more(ws)
    await ws.close()


async def test_the_stream_never_sends_an_event_the_api_would_not_show(services, processes, token):
    """For every demo jurisdiction (and a coordinator): what the stream sends equals what
    GET /api/v1/events/ shows the same caller, redaction included."""
    (_, port_a), (_, port_b) = processes.server(), processes.server()
    processes.worker()
    callers = [(code, await token(code)) for code in GBA_CODES] + [("coordinator", await token(ZHUHAI,
                                                                                               role="coordinator"))]
    streams = {}
    for index, (who, raw) in enumerate(callers):
        streams[who] = (raw, *(await open_stream(port_a if index % 2 else port_b, raw)))

    def mix():
        for owner in GBA_CODES:
            for level in ("I", "III", "IV"):
                emit_incidents(1, owner=owner, level=level, category="accident")
            emit_incidents(1, owner=owner, concerned=[HONG_KONG], level="IV", category="public_health")

    await database_sync_to_async(mix)()
    total = len(GBA_CODES) * 4
    await all_dispatched(total)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}") as http:
        for who, (raw, ws, hello) in streams.items():
            response = await http.get(f"/api/v1/events/?since={hello['seq']}&limit=1000",
                                      headers={"Authorization": f"Bearer {raw}"})
            expected = response.json()["results"]
            assert 0 < len(expected) < total or who == "coordinator"
            assert await collect(ws, len(expected)) == expected, who
            assert await nothing_more(ws, wait=0.3), who
            await ws.close()
