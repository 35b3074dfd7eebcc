"""`python -m bench.stream [--quick]`: the websocket stream's fan-out and end-to-end latency.

Fan-out: one event to N concurrent subscribers (1,000 and 5,000; 200 with --quick), spread over
the 11 demo jurisdictions, on one `manage.py serve` process (uvicorn) in the services mode. An
incident is reported through incidents.services in this process and committed; the time runs
from the commit to the last subscriber's receipt, through the dispatcher (numbering, routing,
one Redis PUBLISH; then, as in a worker, webhooks and the playbook engine, on the same cores
while the server fans out: until 2026-11 this process had not imported the engine), the
server's hub and its sockets. p50 and p99 over 100 events (5 with --quick). Beside
it, in the same run and with the same clients: a bare `websockets` server that broadcasts
what it reads from Redis pub/sub (`websockets.broadcast`), timed from the PUBLISH; what it
broadcasts is the very frame our subscribers received (the event, about 800 bytes; until
2026-11 a 190-byte stub, which made the baseline's clients' work a quarter of ours). Subscribers
live in client processes; receipt times are CLOCK_MONOTONIC, which all processes share.
Both servers run at once and every client process holds its share of both sets of
subscribers; the rounds alternate between the two (ours, bare, bare, ours, ...), so both are
measured under the same placement of processes on the cores. Until 2026-11 ours ran first
and the baseline afterwards with fresh client processes, and the baseline's figure alone moved
by 75% between runs. Server memory per connection: the server's RSS growth divided by N.

End to end: an incident POSTed in Shenzhen (level III) reaches a subscriber in Dongguan, its
neighbour, through the real Celery worker and Redis: from sending the POST to the receipt.
"""

import argparse
import asyncio
import base64
import contextlib
import gc
import multiprocessing
import os
import resource
import sys
import time

from bench.common import (
    BENCH_DATABASE_URL,
    BENCH_REDIS_URL,
    bench_env,
    free_port,
    percentile,
    phase,
    process,
    row,
    rss_kib,
)

GBA = ["440100", "440300", "440400", "440600", "440700", "441200", "441300", "441900", "442000", "810000", "820000"]
SHENZHEN, DONGGUAN = "440300", "441900"
BASELINE_CHANNEL = "liandong:bench:baseline"
CLIENT_PROCESSES = 4
TARGET_RATIO = 1.5
ROUND_TIMEOUT = 30.0


# --- processes ----------------------------------------------------------------------------------


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the bare baseline server -----------------------------------------------------------------------


def serve_baseline(port: int) -> None:
    """Accept websockets; broadcast every message of the Redis channel to all of them."""
    import redis.asyncio as redis
    from websockets import broadcast
    from websockets.asyncio.server import serve

    async def main():
        connections = set()

        async def handler(ws):
            connections.add(ws)
            try:
                await ws.wait_closed()
            finally:
                connections.discard(ws)

        async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096):
            client = redis.Redis.from_url(BENCH_REDIS_URL)
            pubsub = client.pubsub()
            await pubsub.subscribe(BASELINE_CHANNEL)
            print("baseline ready", flush=True)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    broadcast(connections, message["data"].decode())

    asyncio.run(main())


# --- subscribers --------------------------------------------------------------------------------


class _RawSubscriber(asyncio.Protocol):
    """A websocket client reduced to what the benchmark needs: the handshake, answering pings,
    and spotting the round's marker in a frame. A full client library would spend more time
    per message than the servers being compared, and the figure would measure the clients."""

    def __init__(self, request: bytes, opened: asyncio.Future, state: dict, *, greeted: bool):
        # Open once the handshake is done or, where the server greets (ours sends `hello` once
        # the connection is registered and has read the newest seq), once greeted: an event
        # numbered before then precedes the connection's hello and is not its to receive, which
        # made the first round after connecting wait out its timeout for some subscribers.
        self.request, self.opened, self.state, self.greeted = request, opened, state, greeted
        self.buffer = b""
        self.open = False
        self.got = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buffer[:self.buffer.find(b"\r\n")]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode("latin-1")))
                self.transport.close()
                return
            self.buffer, self.open = self.buffer[end + 4:], True
            if not self.greeted:
                self.opened.set_result(self)
        while len(self.buffer) >= 2:
            opcode, length, position = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                length, position = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                length, position = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < position + length:
                return
            payload, self.buffer = self.buffer[position:position + length], self.buffer[position + length:]
            if opcode == 0x9:  # ping: a pong, masked as a client must
                mask = os.urandom(4)
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask
                                     + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            elif opcode == 0x1 and not self.opened.done():
                self.opened.set_result(self)  # the greeting
            elif opcode == 0x1:
                marker = self.state["marker"]
                if marker is not None and self.got != marker and marker in payload:
                    self.got = marker
                    self.state["last"] = time.monotonic()
                    self.state["waiting"] -= 1
                    if self.state["waiting"] == 0:
                        self.state["done"].set()


def _client_process(conn, targets: dict[str, tuple[int, str, list[str]]]) -> None:
    """Subscribers to each target server (name -> port, path, tokens); per round, armed with a
    target's name and a marker, the CLOCK_MONOTONIC time the last of its subscribers got it."""

    async def main():
        loop = asyncio.get_running_loop()
        state = {"marker": None, "waiting": 0, "last": 0.0, "done": None}
        subscribers = {name: [] for name in targets}
        semaphore = asyncio.Semaphore(50)

        async def open_one(name: str, port: int, path: str, token: str):
            key = base64.b64encode(os.urandom(16)).decode()
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"{auth}\r\n").encode()
            async with semaphore:
                opened = loop.create_future()
                await loop.create_connection(lambda: _RawSubscriber(request, opened, state, greeted=bool(token)),
                                             "127.0.0.1", port)
                subscribers[name].append(await asyncio.wait_for(opened, 60))

        await asyncio.gather(*(open_one(name, port, path, token)
                               for name, (port, path, tokens) in targets.items() for token in tokens))
        # The clients' own full collections (thousands of connections' objects) must not land
        # in a round, for either server.
        gc.freeze()
        conn.send(("ready", {name: len(opened) for name, opened in subscribers.items()}))
        commands = asyncio.Queue()
        loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
        while True:
            command, argument = await commands.get()
            if command == "stop":
                break
            name, marker = argument
            # Only the armed target's subscribers can receive its marker: the other server
            # never sends it.
            state.update(marker=marker.encode(), waiting=len(subscribers[name]), last=0.0, done=asyncio.Event())
            conn.send(("armed", None))
            try:
                await asyncio.wait_for(state["done"].wait(), ROUND_TIMEOUT)
            except TimeoutError:
                pass
            conn.send(("result", (state["last"], len(subscribers[name]) - state["waiting"])))
            state["marker"] = None
        for opened in subscribers.values():
            for subscriber in opened:
                subscriber.transport.close()

    asyncio.run(main())


class Subscribers:
    """N subscribers to each target server (name -> port, path, tokens), spread over the same
    client processes."""

    def __init__(self, targets: dict[str, tuple[int, str, list[str]]], n: int):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.procs = [], []
        for p in range(CLIENT_PROCESSES):
            share = {name: (port, path, [tokens[i % len(tokens)] for i in range(n) if i % CLIENT_PROCESSES == p])
                     for name, (port, path, tokens) in targets.items()}
            parent, child = context.Pipe()
            proc = context.Process(target=_client_process, args=(child, share), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        ready = [self._reply_of(pipe, "ready", 600) for pipe in self.pipes]
        self.connected = {name: sum(counts[name] for counts in ready) for name in targets}

    @staticmethod
    def _reply_of(pipe, expected: str, timeout: float):
        if not pipe.poll(timeout):
            raise RuntimeError(f"a client process did not answer {expected!r}")
        kind, value = pipe.recv()
        if kind != expected:
            raise RuntimeError(f"expected {expected}, got {kind}")
        return value

    def round(self, target: str, marker: str, trigger) -> tuple[float, int]:
        """Arm every client for `target`'s subscribers, trigger the event (returns its start
        time), wait for the receipts."""
        for pipe in self.pipes:
            pipe.send(("arm", (target, marker)))
        for pipe in self.pipes:
            self._reply_of(pipe, "armed", 30)
        started = trigger()
        results = [self._reply_of(pipe, "result", ROUND_TIMEOUT + 10) for pipe in self.pipes]
        received = sum(count for _, count in results)
        return (max(last for last, _ in results) - started) * 1000, received

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()


# --- the figures --------------------------------------------------------------------------------


def _django():
    os.environ.update(DATABASE_URL=BENCH_DATABASE_URL, REDIS_URL=BENCH_REDIS_URL,
                      DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
    import django

    django.setup()
    # This process runs the dispatcher in the fan-out's rounds, standing in for a Celery worker:
    # like a worker's pool process (config.celery), it keeps its startup objects out of
    # collections, which otherwise took 50-90 ms here, now and then in the middle of a round.
    from config.startup import freeze_startup_objects
    from sharing import tasks  # noqa: F401 (what a worker has imported: the dispatch, the playbook engine)

    freeze_startup_objects(with_urls=False)


def _tokens() -> dict[str, str]:
    """An API client's token for each jurisdiction, made here (by `manage.py create_api_client`
    until 2026-12-07: eleven Django start-ups, 45 s of the module on a slow day)."""
    from coordination.services import api_client_create

    stamp = int(time.time() * 1000)
    return {code: api_client_create(name=f"bench-stream-{code}-{stamp}", jurisdiction_code=code)[1] for code in GBA}


def _report_incident(principal, marker: str, level: str = "I") -> None:
    from django.utils import timezone

    from incidents.services import incident_report

    incident_report(actor=principal, data={
        "title": marker, "category": "natural_disaster", "type": "flood", "level": level,
        "occurred_at": timezone.now(), "location": {"lat": 22.54, "lon": 114.06},
    })


def _frame_of(marker: str) -> str:
    """The frame most subscribers received for the incident titled `marker`: the baseline
    broadcasts the same bytes, so both servers move the same load through the same clients."""
    from sharing.models import Event
    from sharing.stream.routes import route_event

    event = Event.objects.get(name="incident.created", payload__title=marker)
    route = route_event(event, prev=event.seq - 1)
    return max(route.groups, key=lambda group: len(group.jurisdictions)).text


def _fan_out(n: int, rounds: int, tokens: dict[str, str]) -> list[dict]:
    import redis

    from coordination.authentication import principal_for_token
    from sharing.tasks import dispatch_pending

    reporter = principal_for_token(tokens[SHENZHEN])
    client = redis.Redis.from_url(BENCH_REDIS_URL)
    ours_port, bare_port = free_port(), free_port()
    with process("server", [sys.executable, "manage.py", "serve", "--port", str(ours_port)], env=bench_env(),
                 ready_url=f"http://127.0.0.1:{ours_port}/healthz") as server, \
            process("baseline", [sys.executable, "-m", "bench.stream", "serve-baseline", "--port", str(bare_port)],
                    env=bench_env(), ready_text=b"baseline ready") as baseline:
        dispatch_pending()  # nothing left over from earlier figures
        idle = {"ours": rss_kib(server.pid), "bare": rss_kib(baseline.pid)}
        with phase(f"stream: connecting {n:,} + {n:,} subscribers"):
            subscribers = Subscribers({"ours": (ours_port, "/ws/v1/stream/", [tokens[code] for code in GBA]),
                                       "bare": (bare_port, "/", [""])}, n)
        rounds_started = time.monotonic()
        try:

            def ours(marker):
                def trigger():
                    _report_incident(reporter, marker)
                    started = time.monotonic()  # committed; the dispatcher takes it from here
                    dispatch_pending()
                    return started
                return trigger

            sample_text = None

            def bare(marker):
                def trigger():
                    started = time.monotonic()
                    client.publish(BASELINE_CHANNEL, sample_text.replace("MARKER", marker))
                    return started
                return trigger

            warm_up = f"bench-warm-up-{n}"
            subscribers.round("ours", warm_up, ours(warm_up))
            sample_text = _frame_of(warm_up).replace(warm_up, "MARKER")
            subscribers.round("bare", warm_up, bare(warm_up))
            samples = {"ours": [], "bare": []}
            served = {"ours": [], "bare": []}
            triggers = {"ours": ours, "bare": bare}
            for i in range(rounds):
                # ours, bare, bare, ours, ...: neither always goes first after the other
                for target in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
                    marker = f"bench-{target}-{n}-{i}"
                    latency, received = subscribers.round(target, marker, triggers[target](marker))
                    samples[target].append(latency)
                    served[target].append(received)
            took = time.monotonic() - rounds_started
            print(f"  stream: {rounds} + {rounds} rounds at {n:,}: {took:.0f}s", flush=True)
            memory = {"ours": (rss_kib(server.pid) - idle["ours"]) / n,
                      "bare": (rss_kib(baseline.pid) - idle["bare"]) / n}
            connected = subscribers.connected["ours"]
        finally:
            subscribers.close()
    rows = []
    # The target is set at 1,000 and 5,000 subscribers; below that the fixed cost of the commit
    # path (numbering, routing, one PUBLISH: a few ms) is most of the figure (--quick).
    judged = n >= 1000
    for p in (50, 99):
        mine, theirs = percentile(samples["ours"], p), percentile(samples["bare"], p)
        rows.append(row(f"stream fan-out to {n:,}: commit to last receipt p{p}", mine, theirs,
                        f"≤ {TARGET_RATIO}× bare websockets" if judged else "smoke run (judged at ≥ 1,000)",
                        mine <= TARGET_RATIO * theirs if judged else None, unit=" ms"))
    every = connected == n and all(count == n for count in served["ours"])
    rows.append(row(f"stream fan-out to {n:,}: subscribers served every round", min(served["ours"]), n,
                    "all", every))
    rows.append(row(f"stream memory per connection at {n:,}", memory["ours"], memory["bare"], "reported", None,
                    unit=" KiB"))
    return rows


def _end_to_end(rounds: int, tokens: dict[str, str]) -> list[dict]:
    import httpx
    from websockets.asyncio.client import connect

    port = free_port()
    env = bench_env()
    samples = []
    with process("server", [sys.executable, "manage.py", "serve", "--port", str(port)], env=env,
                  ready_url=f"http://127.0.0.1:{port}/healthz"), \
            process("worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "info",
                                "--without-mingle", "--without-gossip", "-n", f"bench-stream-{port}@%h"],
                     env={**env, "CELERY_LOG_LEVEL": "INFO"}, ready_text=b" ready."):

        async def measure():
            async with connect(f"ws://127.0.0.1:{port}/ws/v1/stream/", compression=None,
                               additional_headers={"Authorization": f"Bearer {tokens[DONGGUAN]}"}) as ws, \
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                      headers={"Authorization": f"Bearer {tokens[SHENZHEN]}"}) as http:
                await ws.recv()  # hello
                for i in range(rounds + 1):
                    marker = f"bench-e2e-{i}-{time.time()}"
                    started = time.monotonic()
                    response = await http.post("/api/v1/incidents/", json={
                        "title": marker, "category": "accident", "type": "fire", "level": "III",
                        "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.54, "lon": 114.06}})
                    response.raise_for_status()
                    async with asyncio.timeout(10):
                        while marker not in await ws.recv():
                            pass
                    if i:  # the first one warms the worker and the server up
                        samples.append((time.monotonic() - started) * 1000)

        asyncio.run(measure())
    return [row(f"incident POSTed in Shenzhen reaches a Dongguan subscriber p{p} (worker + Redis)",
                percentile(samples, p), None, "p99 < 250 ms", None if p == 50 else percentile(samples, p) < 250,
                unit=" ms") for p in (50, 99)]


def run(*, quick: bool) -> list[dict]:
    _raise_fd_limit()
    with phase("stream: setting up"):
        _django()
        tokens = _tokens()
    rows = []
    # 100 rounds: with 20, as until 2026-11, "p99" was the slowest round, whichever of the
    # two servers a passing hiccup of the machine happened to hit.
    for n in ([200] if quick else [1000, 5000]):
        with phase(f"stream: fan-out to {n:,} in all"):
            rows += _fan_out(n, 5 if quick else 100, tokens)
    with phase("stream: end to end"):
        rows += _end_to_end(5 if quick else 50, tokens)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["serve-baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    if args.command == "serve-baseline":
        serve_baseline(args.port)
        return 0
    from bench.__main__ import format_table
    from bench.common import prepare_database

    print(f"database {BENCH_DATABASE_URL}, redis {BENCH_REDIS_URL}", flush=True)
    prepare_database()
    print(format_table(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
