"""Stream and webhook test fixtures: events to emit, the hub per test loop, and real processes
(server, Celery worker) for the scale-out and reliability tests."""

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import transaction

from sharing.eventlog import Subject, emit_event
from tests.conftest import SHENZHEN

ROOT = Path(__file__).resolve().parent.parent.parent
_numbers = itertools.count(1)


def incident_payload(*, number: int, owner: str, concerned, level: str, category: str) -> dict:
    """An `incident.created` payload (its schema: sharing/event_schemas/incidents.py) with the
    two sensitive fields set, so a test sees whether they were withheld."""
    return {
        "id": f"INC-2026-{number:06d}", "title": f"test incident {number}", "description": "", "category": category,
        "type": "flood", "level": level, "status": "reported", "exercise": False,
        "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.5, "lon": 114.0}, "affected_area": None,
        "reporting_jurisdiction": owner, "affected_jurisdictions": sorted({owner, *concerned}),
        "affected_jurisdictions_added_manually": [], "cross_border": bool(set(concerned) - {owner}), "cluster": "GBA",
        "casualties": {"deaths": 0, "injured": 1, "missing": 0, "evacuated": 0},
        "casualty_details": [{"name": "Zhang San", "age": 40}], "contacts": [{"phone": "+86 755 0000 0000"}],
        "external_id": None, "version": 1, "reported_by": {"kind": "client", "name": "test"},
        "created_at": "2026-07-21T08:30:00+08:00", "updated_at": "2026-07-21T08:30:00+08:00",
    }


def emit_incidents(n: int = 1, *, owner: str = SHENZHEN, concerned=(), level: str = "II",
                   category: str = "natural_disaster") -> list[int]:
    """Commit n `incident.created` events (not yet numbered); returns their row ids."""
    ids = []
    with transaction.atomic():
        for _ in range(n):
            number = next(_numbers)
            subject = Subject(type="incident", id=f"INC-2026-{number:06d}", cluster="GBA", owner=owner,
                              jurisdictions=list(concerned), level=level, category=category)
            event = emit_event("incident.created", subject=subject, payload=incident_payload(
                number=number, owner=owner, concerned=concerned, level=level, category=category))
            ids.append(event.pk)
    return ids


class WebsocketCommunicator(ApplicationCommunicator):
    """An in-process websocket client for unit tests of the consumer, as channels.testing's
    (which cannot be imported without daphne, a server we do not use)."""

    def __init__(self, application, path: str, headers=None):
        parsed = urlparse(path)
        super().__init__(application, {
            "type": "websocket", "path": unquote(parsed.path), "query_string": parsed.query.encode(),
            "headers": headers or [], "subprotocols": [], "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        })

    async def connect(self, timeout: float = 1) -> tuple[bool, object]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data) -> None:
        await self.send_to(text_data=json.dumps(data))

    async def receive_json_from(self, timeout: float = 1):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send" and "text" in response, response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


@pytest.fixture(autouse=True)
async def _stop_the_hub():
    """Each test's event loop gets its own hub; stop it with the test so no task outlives it."""
    yield
    from sharing.stream import hub as hub_module

    hub = hub_module.current_hub()
    if hub is not None and not hub.loop.is_closed():
        with contextlib.suppress(RuntimeError):
            await hub.stop()
    hub_module._hub = None


# --- real processes ------------------------------------------------------------------------------


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_database_url() -> str:
    """The database this test run created (pytest-django's test database), for subprocesses."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("processes share the test database only on PostgreSQL")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def process_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "TEST_DATABASE"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=shared_database_url(), REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY, LOG_LEVEL="WARNING", DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="8", WEBHOOK_ALLOW_PRIVATE="1", STATIC_MANIFEST="0",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Process:
    """A child process in its own process group, logging to a file; killed with kill -9."""

    def __init__(self, name: str, args: list[str], env: dict, *, scratch: Path | None = None):
        self.name = name
        self.scratch = scratch
        self.log = Path(tempfile.mkstemp(prefix=f"ld-rt-{name}-", suffix=".log")[1])
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, tail: int = 4000) -> str:
        return self.log.read_bytes()[-tail:].decode("utf-8", "replace")

    def wait_until(self, ready, *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.output()}")
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no {what} within {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        """kill -9 of the whole group (a server's or worker's children too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        self.kill()
        self._log_file.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if not os.environ.get("KEEP_PROCESS_LOGS"):
            self.log.unlink(missing_ok=True)


def _http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def processes(transactional_db):
    """Start servers and workers for one test; every one is killed (-9) when the test ends,
    before pytest-django empties the database they hold connections to."""
    started: list[Process] = []

    class Launcher:
        def server(self, **env) -> tuple[Process, int]:
            port = free_port()
            process = Process(f"server-{port}", [sys.executable, "manage.py", "serve", "--port", str(port)],
                              process_env(**env))
            started.append(process)
            process.wait_until(lambda: _http_ok(f"http://127.0.0.1:{port}/healthz"), timeout=30,
                               what="an answer on /healthz")
            return process, port

        def worker(self, **env) -> Process:
            scratch = Path(tempfile.mkdtemp(prefix="ld-rt-beat-"))
            beat_schedule = scratch / "schedule"
            process = Process("worker", [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-s", str(beat_schedule),
                "--pool", "threads", "--concurrency", "4", "-l", "info", "-n", f"rt-{free_port()}@%h",
                "--without-mingle", "--without-gossip",
            ], process_env(CELERY_LOG_LEVEL="INFO", **env), scratch=scratch)
            started.append(process)
            process.wait_until(lambda: b" ready." in process.log.read_bytes(), timeout=30, what="ready")
            return process

    try:
        yield Launcher()
    finally:
        for process in started:
            process.cleanup()
