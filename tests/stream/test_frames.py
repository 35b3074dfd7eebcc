"""The fan-out's shortcut (sharing.stream.frames): one frame per event, written to each socket.

Served by a real uvicorn on this test's event loop, configured as `manage.py serve` configures
it, with a real websocket client: the connection must get the shortcut (so an upgrade of
uvicorn that renames what it reads fails here, not silently in production), what arrives must
be the events whole and in order, and a paused socket or a compressed connection must fall
back to the ASGI send without losing or reordering anything.
"""

import asyncio
import contextlib
import json

import pytest
import uvicorn
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.protocol import State
from websockets.server import ServerProtocol

from config.asgi import application
from coordination.management.commands.serve import WEBSOCKET_OPTIONS
from sharing.eventlog import newest_seq
from sharing.models import Event
from sharing.stream.frames import FrameWriter, text_frame
from sharing.stream.hub import HEARTBEAT_FRAME, current_hub
from sharing.tasks import dispatch_pending
from tests.conftest import DONGGUAN, SHENZHEN
from tests.stream.conftest import emit_incidents, free_port

pytestmark = pytest.mark.django_db(transaction=True)

dispatch = database_sync_to_async(dispatch_pending)


@database_sync_to_async
def emit(n: int, **kwargs) -> list[Event]:
    ids = emit_incidents(n, **kwargs)
    return list(Event.objects.filter(pk__in=ids).order_by("pk"))


@pytest.mark.parametrize("text", ["x", "a" * 125, "b" * 126, "事件" * 40, "c" * 65535, "d" * 65536 + "终"])
def test_text_frame_is_the_frame_websockets_sends(text):
    server = ServerProtocol(state=State.OPEN)
    server.send_text(text.encode())
    assert text_frame(text) == b"".join(server.data_to_send())


@contextlib.asynccontextmanager
async def serving(**options):
    config = uvicorn.Config(application, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning",
                            **{**WEBSOCKET_OPTIONS, **options})
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield config.port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def stream(port: int, token: str, *, compression: str | None = None):
    async with connect(f"ws://127.0.0.1:{port}/ws/v1/stream/", compression=compression,
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        async with asyncio.timeout(5):
            while not (current_hub() and any(s.live for s in current_hub().subscribers())):
                await asyncio.sleep(0.01)
        yield ws


async def event_titles(ws, n: int) -> list[str]:
    titles = []
    async with asyncio.timeout(10):
        while len(titles) < n:
            message = json.loads(await ws.recv())
            if message["type"] == "event":
                titles.append(message["data"]["title"])
    return titles


async def only_subscriber():
    (subscriber,) = current_hub().subscribers()
    return subscriber


async def test_a_served_connection_takes_the_shortcut_and_gets_every_event_whole(credentials):
    token = await database_sync_to_async(credentials.token)(DONGGUAN)
    async with serving() as port, stream(port, token) as ws:
        subscriber = await only_subscriber()
        assert isinstance(subscriber._write_frame, FrameWriter)
        created = await emit(3, owner=SHENZHEN, concerned=[DONGGUAN])
        await dispatch()
        assert await event_titles(ws, 3) == [event.payload["title"] for event in created]
        assert subscriber.queued == 0 and subscriber._draining is None


async def test_a_paused_socket_falls_back_to_asgi_and_keeps_the_order(credentials):
    token = await database_sync_to_async(credentials.token)(DONGGUAN)
    async with serving() as port, stream(port, token) as ws:
        subscriber = await only_subscriber()
        protocol = subscriber._write_frame._protocol
        protocol.pause_writing()  # what the transport calls when its buffer is over the mark
        created = await emit(3, owner=SHENZHEN, concerned=[DONGGUAN])
        await dispatch()
        newest = await database_sync_to_async(newest_seq)()
        async with asyncio.timeout(5):
            while subscriber.last_seq < newest:
                await asyncio.sleep(0.01)
        # The first waits in the ASGI send, the others in the outbox: nothing was written past them.
        assert subscriber._draining is not None and subscriber.queued == 2
        protocol.resume_writing()
        assert await event_titles(ws, 3) == [event.payload["title"] for event in created]


async def test_a_compressed_connection_goes_through_asgi(credentials):
    token = await database_sync_to_async(credentials.token)(DONGGUAN)
    async with serving(ws_per_message_deflate=True) as port, stream(port, token, compression="deflate") as ws:
        subscriber = await only_subscriber()
        assert subscriber._write_frame is None
        created = await emit(2, owner=SHENZHEN, concerned=[DONGGUAN])
        await dispatch()
        assert await event_titles(ws, 2) == [event.payload["title"] for event in created]


async def test_heartbeats_take_the_shortcut_too(credentials, settings):
    settings.STREAM_HEARTBEAT_SECONDS = 0.2
    token = await database_sync_to_async(credentials.token)(DONGGUAN)
    async with serving() as port, stream(port, token) as ws:
        subscriber = await only_subscriber()
        written = []
        writer = subscriber._write_frame
        subscriber._write_frame = lambda frame: written.append(frame) or writer(frame)
        async with asyncio.timeout(5):
            while json.loads(await ws.recv())["type"] != "heartbeat":
                pass
        assert written and set(written) == {HEARTBEAT_FRAME}  # one or more, by the time it is read
