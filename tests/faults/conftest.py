"""The fault suite's world: a PRIVATE PostgreSQL cluster and a PRIVATE Redis, started for this
session on free ports, and real server and worker processes against them.

The machine's shared PostgreSQL and Redis are never stopped (other engineers and CI use them):
every stop, kill and restart here is of a process this suite started, by its id.

- PostgreSQL: `initdb` into a temporary directory owned by `postgres` (initdb refuses root),
  `pg_ctl` through `runuser -u postgres --`. A template database is migrated and loaded with
  the demo cluster and one API client per GBA jurisdiction once; each test gets a copy of it.
- Redis: `redis-server` with no persistence (`--save "" --appendonly no`), so a restart is a
  Redis that lost everything, the worst case the design promises to survive.
- Processes: `manage.py serve` (uvicorn) and `celery -A config worker` / `beat` as children in
  process groups of their own; all killed when the test ends.

Every test counts what it produced and what arrived, prints the counts in the session summary,
and asserts that nothing was lost. Skipped (with the reason) where the PostgreSQL binaries are
missing, failed instead under REQUIRE_SERVICES=1. The suite runs in the services pass of the test
command only: the embedded pass would run the same private stack a second time.
"""

import contextlib
import glob
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from tests.conftest import GBA_CODES, REQUIRE_SERVICES
from tests.stream.conftest import Process, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "faults-" + "k" * 50
METRICS_TOKEN = "faults-metrics-token-0123456789"

# --- prerequisites --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian: /usr/lib/postgresql/N/bin)."""
    found = [Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin") if Path(path, "initdb").exists()]
    if not found:
        return None
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)


def _missing() -> list[str]:
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    if shutil.which("runuser") is None:
        missing.append("runuser (util-linux)")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        missing.append("a 'postgres' system user to run initdb as")
    return missing


@pytest.fixture(scope="session")
def fault_prerequisites():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the fault suite runs in the services pass (it starts a private PostgreSQL and Redis of its "
                    "own; the embedded pass would only run it twice)")
    missing = _missing()
    if missing:
        message = "fault suite: missing " + "; ".join(missing)
        if REQUIRE_SERVICES:
            pytest.fail(message + " (REQUIRE_SERVICES=1)")
        pytest.skip(message)


# --- the private services -------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port."""

    def __init__(self, root: Path):
        self.bin = postgres_bin()
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        shutil.chown(root, user="postgres", group="postgres")
        root.chmod(0o700)

    def _as_postgres(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def init(self) -> None:
        done = self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                 "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        # Durability settings off: this cluster lives for one test session, and a crash
        # (stop -m immediate) is what the tests do to it on purpose.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=300")
        done = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                                 "-t", "60", "-o", options, "start")
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients see: every connection drops at once."""
        done = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        if done.returncode and "is the server running" not in done.stderr:
            raise RuntimeError(f"pg_ctl stop failed:\n{done.stdout}\n{done.stderr}")

    def running(self) -> bool:
        return self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, database: str, statement: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.root / "redis.log"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def answers(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """kill -9 of our redis-server: what a crashed or restarted Redis is to its clients."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            client.flushall()
        finally:
            client.close()


# Tokens made in the template database: one API client per GBA jurisdiction (every scope).
CREDENTIALS_SCRIPT = "\n".join([
    "import json",
    "from coordination.services import api_client_create",
    f"codes = {GBA_CODES!r}",
    'tokens = {code: api_client_create(name="faults-" + code, jurisdiction_code=code)[1] for code in codes}',
    'print("TOKENS=" + json.dumps(tokens))',
])


def base_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "TEST_DATABASE", "DATABASE_", "REDIS_", "CELERY_", "STREAM_",
                                  "WEBHOOK_", "WORKFLOW_", "DEADLINE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING",
        CELERY_LOG_LEVEL="WARNING", STATIC_MANIFEST="0", PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(*args: str, env: dict, timeout: float = 240) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Services:
    postgres: PrivatePostgres
    redis: PrivateRedis
    tokens: dict[str, str]
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))


TEMPLATE = "liandong_faults_template"


@pytest.fixture(scope="session")
def private_services(fault_prerequisites):
    root = Path(tempfile.mkdtemp(prefix="ld-faults-"))
    postgres = PrivatePostgres(Path(tempfile.mkdtemp(prefix="ld-faults-pg-")))
    redis_server = PrivateRedis(root)
    try:
        postgres.init()
        postgres.start()
        redis_server.start()
        postgres.execute("postgres", f'CREATE DATABASE "{TEMPLATE}"')
        env = base_env(DATABASE_URL=postgres.url(TEMPLATE), DATABASE_POOL="0")
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("load_demo", env=env)
        out = manage("shell", "-c", CREDENTIALS_SCRIPT, env=env)
        tokens = json.loads(next(line for line in out.splitlines() if line.startswith("TOKENS="))[7:])
        yield Services(postgres=postgres, redis=redis_server, tokens=tokens)
    finally:
        redis_server.kill()
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)


# --- a deployment per test --------------------------------------------------------------------------


class Stack:
    """One deployment on the private services: its own database (a copy of the template), the
    private Redis, and the server, worker and beat processes a test starts."""

    def __init__(self, services: Services, database: str):
        self.services = services
        self.postgres = services.postgres
        self.redis = services.redis
        self.database = database
        self.tokens = services.tokens
        self.started: list[Process] = []

    def env(self, **extra) -> dict:
        settings_ = dict(
            DATABASE_URL=self.postgres.url(self.database), REDIS_URL=self.redis.url(0),
            DATABASE_POOL_MIN_SIZE="1", DATABASE_POOL_MAX_SIZE="8", DATABASE_POOL_TIMEOUT="2",
            API_RATE_LIMIT="1000000/min", WEBHOOK_ALLOW_PRIVATE="1", METRICS_TOKEN=METRICS_TOKEN,
            STREAM_HUB_CHECK_SECONDS="1", CELERY_VISIBILITY_TIMEOUT="10", WORKFLOW_SWEEP_SECONDS="1",
            WORKFLOW_SWEEP_GRACE_SECONDS="0.5", WORKFLOW_AUDIT_SECONDS="2", WORKFLOW_STALL_SECONDS="30",
            WEBHOOK_RETRY_BASE_SECONDS="0.2", WEBHOOK_RETRY_MAX_SECONDS="2", WEBHOOK_TIMEOUT_SECONDS="2",
        )
        settings_.update(extra)
        return base_env(**settings_)

    def server(self, **env) -> tuple[Process, int]:
        port = free_port()
        process = Process(f"faults-server-{port}", [sys.executable, "manage.py", "serve", "--port", str(port)],
                          self.env(**env))
        self.started.append(process)
        process.wait_until(lambda: _http_ok(f"http://127.0.0.1:{port}/healthz"), timeout=40,
                           what="an answer on /healthz")
        return process, port

    def worker(self, name: str, *, beat: bool = False, concurrency: int = 2, supervised: bool = False,
               **env) -> Process:
        """A Celery worker (prefork, as deployed); `beat` runs beat inside it. `supervised`
        restarts it when it exits, as the compose stack's `restart: unless-stopped` does
        (kombu 5.7 takes a worker down when Redis drops while it holds an unacknowledged
        message: see test_redis_outage)."""
        scratch = Path(tempfile.mkdtemp(prefix=f"ld-faults-{name}-"))
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"{name}-{free_port()}@%h",
                "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "-l", "info"]
        if beat:
            args += ["-B", "-s", str(scratch / "beat-schedule")]
        if supervised:
            args = ["bash", "-c", 'while true; do "$@"; echo "supervisor: worker exited ($?), restarting"; sleep 1; '
                    "done", "supervisor", *args]
        process = Process(f"faults-{name}", args, self.env(CELERY_LOG_LEVEL="INFO", **env), scratch=scratch)
        self.started.append(process)
        process.wait_until(lambda: b" ready." in process.log.read_bytes(), timeout=40, what="ready")
        return process

    def beat(self, **env) -> Process:
        scratch = Path(tempfile.mkdtemp(prefix="ld-faults-beat-"))
        process = Process("faults-beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-s",
                                          str(scratch / "beat-schedule"), "-l", "info"],
                          self.env(CELERY_LOG_LEVEL="INFO", **env), scratch=scratch)
        self.started.append(process)
        process.wait_until(lambda: b"beat: Starting" in process.log.read_bytes(), timeout=40, what="beat")
        return process

    def sql(self, statement: str, params=None) -> list[tuple]:
        return self.postgres.execute(self.database, statement, params)

    def scalar(self, statement: str, params=None):
        return self.sql(statement, params)[0][0]

    def client(self, port: int, jurisdiction: str, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=kwargs.pop("timeout", 15),
                            headers={"Authorization": f"Bearer {self.tokens[jurisdiction]}"}, **kwargs)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output(3000)}" for p in self.started)

    def cleanup(self) -> None:
        for process in self.started:
            process.cleanup()


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(private_services, request):
    """A fresh deployment: the services up (a test before may have left one down), Redis
    empty, a new database copied from the template."""
    services = private_services
    if not services.postgres.running():
        services.postgres.start()
    if not services.redis.running():
        services.redis.start()
    services.redis.flush()
    database = f"faults_{next(services.numbers)}"
    # FILE_COPY (PostgreSQL 15's default is WAL_LOG): a copy made by WAL_LOG keeps the template's
    # sequence state unlogged, and after the crash a test causes its sequences go back below
    # rows already committed (measured on 15: duplicate primary keys after `stop -m immediate`).
    services.postgres.execute("postgres", f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY')
    deployment = Stack(services, database)
    try:
        yield deployment
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(deployment.logs())
        deployment.cleanup()
        if not services.postgres.running():
            services.postgres.start()
        with contextlib.suppress(psycopg.Error):
            services.postgres.execute("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


# --- what was lost, counted ---------------------------------------------------------------------------

LEDGER: list[dict] = []


def record(scenario: str, **counts) -> None:
    """One line of the session summary: what a scenario produced, delivered, lost, repeated."""
    LEDGER.append({"scenario": scenario, **counts})


def pytest_terminal_summary(terminalreporter):
    if not LEDGER:
        return
    terminalreporter.section("fault suite: what was lost")
    for line in LEDGER:
        counts = ", ".join(f"{key} {value}" for key, value in line.items() if key != "scenario")
        terminalreporter.write_line(f"{line['scenario']}: {counts}")


def eventually(condition, *, timeout: float, what: str, interval: float = 0.2, stack: Stack | None = None):
    """Poll until `condition()` is truthy (other processes do the work); its value."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (psycopg.Error, httpx.HTTPError) as exc:
            last_error = exc
        time.sleep(interval)
    logs = f"\n{stack.logs()}" if stack is not None else ""
    raise AssertionError(f"not within {timeout}s: {what} (last error: {last_error}){logs}")


# --- subscribers and what they should have had ------------------------------------------------------


class StreamReader(threading.Thread):
    """A city system's stream client in a thread: connects to the first of `ports` that
    answers, records every event, and when its connection drops reconnects (to the next port)
    with `since` = the last seq it saw, as docs/api.md tells clients to."""

    def __init__(self, ports: list[int], token: str, *, name: str = "reader"):
        super().__init__(name=f"stream-{name}", daemon=True)
        self.ports = list(ports)
        self.token = token
        self.seqs: list[int] = []
        self.events: list[dict] = []
        self.baseline: int | None = None
        self.connections = 0
        self.drops = 0
        self.connected = threading.Event()
        self._halt = threading.Event()
        self._port_index = 0

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake
        from websockets.sync.client import connect

        while not self._halt.is_set():
            port = self.ports[self._port_index % len(self.ports)]
            since = self.seqs[-1] if self.seqs else self.baseline
            query = f"?since={since}" if since is not None else ""
            try:
                with connect(f"ws://127.0.0.1:{port}/ws/v1/stream/{query}", open_timeout=5, close_timeout=1,
                             additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
                    hello = json.loads(ws.recv(timeout=10))
                    assert hello["type"] == "hello", hello
                    if self.baseline is None:
                        self.baseline = hello["seq"]
                    self.connections += 1
                    self.connected.set()
                    while not self._halt.is_set():
                        try:
                            message = json.loads(ws.recv(timeout=0.3))
                        except TimeoutError:
                            continue
                        if message["type"] == "event":
                            self.seqs.append(message["seq"])
                            self.events.append(message)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                if self._halt.is_set():
                    return
                self.drops += 1
                self._port_index += 1
                time.sleep(0.2)

    def stop(self) -> None:
        self._halt.set()
        if self.ident is not None:
            self.join(timeout=10)


def visible_seqs(port: int, token: str, since: int) -> list[int]:
    """Every seq after `since` the caller may see, paged out of GET /api/v1/events/."""
    seqs = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                      timeout=15) as client:
        while True:
            body = client.get("/api/v1/events/", params={"since": since, "limit": 500}).raise_for_status().json()
            seqs += [message["seq"] for message in body["results"]]
            if body["next"] is None:
                return seqs
            since = body["next_since"]


def compare(expected: list[int], received: list[int]) -> dict:
    """lost: expected and never received; duplicates: received more than once; unexpected:
    received though the caller may not see it; disorder: not in seq order."""
    seen = set(received)
    return {
        "expected": len(expected),
        "received": len(received),
        "lost": len(set(expected) - seen),
        "duplicates": len(received) - len(seen),
        "unexpected": len(seen - set(expected)),
        "disorder": sum(1 for a, b in itertools.pairwise(received) if b <= a),
    }
