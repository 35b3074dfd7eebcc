"""The per-process hub: every stream connection of this server process, and the fan-out to them.

Why not a Channels group per connection: measured (issue 4), a consumer per subscriber in a
channels-redis group took 20–40× a bare websocket broadcast and fell over at 5,000; Channels
dispatches each message to each consumer through its own machinery. Here connections register
in a process-local map by jurisdiction, ONE task per process reads the routes (Redis pub/sub in
the services mode, an in-process queue in the embedded mode), and a plain loop hands each
local connection the message its audience group already serialised, with its websocket frame
built once (written straight to the socket where uvicorn serves it: sharing.stream.frames).

Nothing lost, nothing twice:
- each route carries `seq` and `prev`; the hub keeps the last seq it relayed and, on a gap
  (a reconnect of its subscription, a Redis restart), relays the missed events from the event
  log first; a route at or below the last seq is a re-dispatched batch and is dropped;
- after (re)subscribing and every STREAM_HUB_CHECK_SECONDS it compares with the log's newest
  seq, so even the last event before an outage is not left behind;
- a connection catching up (its replay) buffers live routes and drains them after the replay,
  dropping what the replay already sent (it keeps its own last seq).

A slow client never stalls the loop: a send that cannot complete at once (the socket's buffer
is full) finishes in a task of its own while later messages queue in a bounded outbox; past
STREAM_OUTBOX_SIZE the connection is closed and the client resumes with `since`.
"""

import asyncio
import contextlib
import gc
import logging
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings

from sharing.stream import selectors
from sharing.stream.filters import EventFilter
from sharing.stream.frames import text_frame
from sharing.stream.routes import Route

logger = logging.getLogger("liandong.stream")

Send = Callable[[dict], Awaitable[None]]

# Close codes (the 4000–4999 range is the application's).
CLOSE_UNAUTHORIZED = 4401  # the credential was revoked or expired while connected
CLOSE_TOO_SLOW = 4408  # the client did not read fast enough (outbox full)
CLOSE_SERVER_ERROR = 1011

HEARTBEAT = {"type": "websocket.send", "text": '{"type":"heartbeat"}'}
# Built once like an event's frame: a heartbeat goes to every connection at the same moment,
# and through ASGI it would be one uvicorn send per connection (sharing.stream.frames: the cost).
HEARTBEAT_FRAME = text_frame(HEARTBEAT["text"])
REPAIR_PAGE = 500


@dataclass(frozen=True)
class Credential:
    """What a connection authenticated with, re-checked while it stays open."""

    token_id: int | None = None
    session_key: str | None = None
    user_id: int | None = None


class Subscriber:
    """One stream connection as the hub sees it: its audience key, filter and ordered outbox."""

    def __init__(self, *, jurisdiction: str, is_coordinator: bool, credential: Credential, send: Send,
                 close: Callable[[int], Awaitable[None]], outbox_size: int | None = None,
                 write_frame: Callable[[bytes], bool] | None = None, bodies: frozenset[str] = frozenset()):
        self.jurisdiction = jurisdiction
        self.is_coordinator = is_coordinator
        self.bodies = bodies  # coordination bodies the officer sits on (what is addressed to them)
        self.credential = credential
        self.filter = EventFilter()
        self.last_seq = 0  # the highest seq sent or passed over
        self.live = False
        self.closed = False
        self._send = send
        self._write_frame = write_frame  # sharing.stream.frames: the fan-out's shortcut, if any
        self._close = close
        self._outbox_size = outbox_size or settings.STREAM_OUTBOX_SIZE
        self._outbox: deque[dict] = deque()
        self._draining: asyncio.Task | None = None
        self._pending: list[tuple[int, dict, object, bytes | None]] = []  # live routes while catching up
        self.reread = False  # the pending buffer overflowed: read the log again

    # --- fed by the hub --------------------------------------------------------------------------

    def offer(self, seq: int, message: dict, facts, frame: bytes | None = None) -> None:
        """An event for this connection (already judged visible to it), in seq order; `frame` is
        the message's websocket frame, built once for every connection of its audience."""
        if self.closed or seq <= self.last_seq:
            return
        if not self.live:
            if len(self._pending) >= self._outbox_size:
                self._pending.clear()
                self.reread = True
            else:
                self._pending.append((seq, message, facts, frame))
            return
        self.last_seq = seq
        if self.filter.is_empty or self.filter.matches(
            category=facts.category, level=facts.level, jurisdictions=facts.jurisdictions
        ):
            self.push(message, frame)

    def push(self, message: dict, frame: bytes | None = None) -> None:
        """Send in order without ever waiting: at once if the socket takes it, else queued."""
        if self.closed:
            return
        if self._draining is None and not self._outbox:
            if frame is not None and self._write_frame is not None and self._write_frame(frame):
                return
            self._send_now(message)
        elif len(self._outbox) >= self._outbox_size:
            self.close(CLOSE_TOO_SLOW)
        else:
            self._outbox.append(message)

    def _send_now(self, message: dict) -> None:
        # The ASGI send is driven by hand for its first step: when the socket accepts the frame
        # at once (nearly always) it completes here without a task or a trip through the event
        # loop, which is what keeps the loop over thousands of connections close to a bare
        # broadcast. Only a send that must wait (the socket's buffer is full) gets a task.
        coro = self._send(message)
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the client went away; its disconnect handler unregisters it
            self.close(None)
            return
        self._draining = asyncio.get_running_loop().create_task(self._finish(coro, waiting))

    async def _finish(self, coro, waiting) -> None:
        try:
            while True:
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    await asyncio.wait((waiting,))
                try:
                    waiting = coro.send(None)
                except StopIteration:
                    break
            while self._outbox and not self.closed:
                await self._send(self._outbox.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            self.close(None)
        finally:
            coro.close()
            self._draining = None

    # --- driven by the connection's own task -----------------------------------------------------

    async def send_direct(self, message: dict) -> None:
        """For the replay, before the connection is live: nothing else sends events meanwhile."""
        await self._send(message)

    def go_live(self) -> None:
        """End of the replay: deliver what arrived meanwhile, then take routes directly."""
        pending, self._pending = self._pending, []
        self.live = True
        for seq, message, facts, frame in pending:
            self.offer(seq, message, facts, frame)

    def close(self, code: int | None) -> None:
        if self.closed:
            return
        self.closed = True
        self._outbox.clear()
        if self._draining is not None:
            self._draining.cancel()
        if code is not None:
            asyncio.get_running_loop().create_task(self._close(code))

    @property
    def queued(self) -> int:
        return len(self._outbox)


class Hub:
    """This process's stream connections and the one task that feeds them."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.plain: dict[str, set[Subscriber]] = {}
        self.coordinators: dict[str, set[Subscriber]] = {}
        self.by_body: dict[str, set[Subscriber]] = {}  # connections of officers seated on a body
        self.last_seq: int | None = None
        self.inbox: asyncio.Queue[Route] = asyncio.Queue()
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._checked = 0.0

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started is None:
            self._started = self.loop.create_future()
            try:
                self.last_seq = await database_sync_to_async(selectors.newest_seq)()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
            feed = self._redis_feed if settings.REDIS_URL else self._inbox_feed
            self._tasks = [self.loop.create_task(feed(), name="stream-hub-feed"),
                           self.loop.create_task(self._housekeeping(), name="stream-hub-housekeeping")]
            self._started.set_result(None)
        await asyncio.shield(self._started)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- membership ----------------------------------------------------------------------------

    def add(self, subscriber: Subscriber) -> None:
        registry = self.coordinators if subscriber.is_coordinator else self.plain
        registry.setdefault(subscriber.jurisdiction, set()).add(subscriber)
        for body in subscriber.bodies:
            self.by_body.setdefault(body, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        registry = self.coordinators if subscriber.is_coordinator else self.plain
        members = registry.get(subscriber.jurisdiction)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del registry[subscriber.jurisdiction]
        for body in subscriber.bodies:
            seated = self.by_body.get(body)
            if seated is not None:
                seated.discard(subscriber)
                if not seated:
                    del self.by_body[body]

    def subscribers(self) -> list[Subscriber]:
        return [s for members in (*self.plain.values(), *self.coordinators.values()) for s in members]

    # --- the feed ------------------------------------------------------------------------------

    def submit(self, route: Route) -> None:
        """Embedded mode: the dispatcher (a worker thread) hands routes over with call_soon_threadsafe."""
        self.inbox.put_nowait(route)

    async def _inbox_feed(self) -> None:
        pending: Route | None = None
        while True:
            try:
                if pending is None:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
                    # that arrives as the queue hands over an item, and the hub then never stopped
                    # (an event loop's teardown waited on it forever).
                    try:
                        async with asyncio.timeout(settings.STREAM_HUB_CHECK_SECONDS):
                            pending = await self.inbox.get()
                    except TimeoutError:
                        pending = None
                if pending is not None:
                    await self.accept(pending)
                    pending = None
                if time.monotonic() - self._checked >= settings.STREAM_HUB_CHECK_SECONDS:
                    await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: the route waits, the hub tries again
                logger.warning("stream hub cannot relay (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(1.0)

    async def _redis_feed(self) -> None:
        import redis.asyncio as redis

        backoff = 0.1
        while True:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_keepalive=True,
                                          health_check_interval=10, client_name=f"liandong-stream-hub-{os.getpid()}")
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(settings.STREAM_REDIS_CHANNEL)
                confirmed = await pubsub.get_message(timeout=5)
                if not confirmed or confirmed["type"] != "subscribe":
                    raise ConnectionError("no subscribe confirmation")
                # Whatever was published while unsubscribed is in the log: relay it now.
                await self.check()
                backoff = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=settings.STREAM_HUB_CHECK_SECONDS)
                    if asyncio.current_task().cancelling():
                        # redis-py's timed read can swallow a cancellation (seen with redis
                        # 8.1): honour it here, or stopping the hub would wait forever.
                        raise asyncio.CancelledError
                    if message is not None and message["type"] == "message":
                        await self.accept(Route.from_wire(message["data"]))
                    if time.monotonic() - self._checked >= settings.STREAM_HUB_CHECK_SECONDS:
                        await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, restarted or flushed of clients: resubscribe
                logger.warning("stream feed lost (%s: %s); resubscribing in %.1fs", type(exc).__name__, exc, backoff)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def accept(self, route: Route) -> None:
        """One route, in order: repair a gap from the log first, drop what was relayed already."""
        if route.seq <= self.last_seq:
            return
        if route.prev > self.last_seq:
            await self.repair(upto=route.prev)
        if route.seq <= self.last_seq:
            return
        self.fan_out(route)
        self.last_seq = route.seq

    async def check(self) -> None:
        """Compare with the event log: relay whatever numbered events this process has not."""
        self._checked = time.monotonic()
        newest = await database_sync_to_async(selectors.newest_seq)()
        if newest > self.last_seq:
            await self.repair(upto=newest)

    async def repair(self, *, upto: int) -> None:
        """Relay the events in (last_seq, upto] from the log, routed as the dispatcher routes them."""
        logger.info("stream hub relays %d-%d from the event log", self.last_seq + 1, upto)
        while self.last_seq < upto:
            routes = await database_sync_to_async(selectors.routes_between)(
                after=self.last_seq, upto=upto, limit=REPAIR_PAGE
            )
            for route in routes:
                self.fan_out(route)
                self.last_seq = route.seq
            if len(routes) < REPAIR_PAGE:
                self.last_seq = max(self.last_seq, upto)
            await asyncio.sleep(0)

    def fan_out(self, route: Route) -> None:
        with _collector_paused():
            self._fan_out(route)

    def _fan_out(self, route: Route) -> None:
        for group in route.groups:
            message = {"type": "websocket.send", "text": group.text}
            frame = text_frame(group.text)
            for code in group.jurisdictions:
                for registry in (self.plain, self.coordinators):
                    members = registry.get(code)
                    if members:
                        for subscriber in tuple(members):
                            subscriber.offer(route.seq, message, route, frame)
            for code in group.coordinators:
                members = self.coordinators.get(code)
                if members:
                    for subscriber in tuple(members):
                        subscriber.offer(route.seq, message, route, frame)
            # A body's group comes after the jurisdictions' (audience's order): an officer whose
            # jurisdiction sees the event already got it (offer drops a seq it has passed).
            for body in group.bodies:
                members = self.by_body.get(body)
                if members:
                    for subscriber in tuple(members):
                        subscriber.offer(route.seq, message, route, frame)

    # --- heartbeats and credentials --------------------------------------------------------------

    async def _housekeeping(self) -> None:
        tick = min(settings.STREAM_HEARTBEAT_SECONDS, settings.STREAM_AUTH_CHECK_SECONDS)
        beat = checked = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now - checked >= settings.STREAM_AUTH_CHECK_SECONDS:
                checked = now
                try:
                    await self.check_credentials()
                except Exception as exc:  # the database is away: check again next time
                    logger.warning("stream credential check failed: %s", exc)
            if now - beat >= settings.STREAM_HEARTBEAT_SECONDS:
                beat = now
                for subscriber in self.subscribers():
                    if subscriber.live:
                        subscriber.push(HEARTBEAT, HEARTBEAT_FRAME)

    async def check_credentials(self) -> None:
        """Close the connections whose token was revoked or expired, or whose session ended."""
        subscribers = self.subscribers()
        credentials = {s.credential for s in subscribers}
        if not credentials:
            return
        valid = await database_sync_to_async(selectors.credentials_still_valid)(credentials)
        for subscriber in subscribers:
            if subscriber.credential not in valid:
                subscriber.push({"type": "websocket.send", "text": UNAUTHORIZED})
                subscriber.close(CLOSE_UNAUTHORIZED)


UNAUTHORIZED = '{"type":"error","code":"unauthorized","detail":"The credential was revoked or has expired."}'

_hub: Hub | None = None


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector held off for the length of one fan-out.

    A send allocates a few short-lived objects per connection, so one event to 1,000
    connections used to set off about ten collections in the middle of its fan-out (5-7 ms of
    a 17 ms loop, measured with gc.callbacks in bench.stream's server). Reference counting
    frees those objects at once either way; the collector runs when the loop is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def current_hub() -> Hub | None:
    """The hub of this process, if a connection ever started one (read from any thread)."""
    return _hub


async def get_hub() -> Hub:
    """This process's hub on the running loop, started on first use (serve runs without lifespan)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
    hub = _hub
    await hub.start()
    return hub
