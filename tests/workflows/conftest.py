"""Fixtures for the playbook engine: the shipped playbooks, real incidents reported through
the incidents service, delivery of their events to the engine, a clock the tests move, and
real Celery worker processes for the reliability tests.

Unit tests drive the engine by calling it directly with a `now` of their choosing (the sweep
does every due step and deadline). Reliability tests run `celery -A config worker` as child
processes against this test database and Redis, and wait on rows, never on sleeps alone.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.conftest import MACAO, ZHONGSHAN, ZHUHAI

ROOT = Path(__file__).resolve().parents[2]

# A box around the Zhuhai-Zhongshan-Macao borders on the demo map (coordination/demo/gba.json):
# a typhoon making landfall at Zhuhai touches all three.
PEARL_ESTUARY_WEST = {"type": "Polygon", "coordinates": [[
    [113.45, 22.12], [113.58, 22.12], [113.58, 22.45], [113.45, 22.45], [113.45, 22.12],
]]}
IN_ZHUHAI = {"lat": 22.22, "lon": 113.50}


@pytest.fixture
def playbooks(gba):
    from coordination.workflows.demo import load_playbooks

    return {playbook.code: playbook for playbook in load_playbooks()}


def typhoon_report(**overrides) -> dict:
    data = {
        "title": "Typhoon Saola makes landfall at Zhuhai",
        "category": "natural_disaster",
        "type": "typhoon",
        "level": "II",
        "occurred_at": timezone.now() - timedelta(minutes=10),
        "location": dict(IN_ZHUHAI),
        "affected_area": PEARL_ESTUARY_WEST,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def zhuhai(principal_for):
    return principal_for(ZHUHAI, role="commander")


@pytest.fixture
def report(zhuhai):
    """report(**fields) -> a real incident reported by Zhuhai (a level II typhoon touching
    Zhongshan and Macao unless told otherwise)."""
    from incidents.services import incident_report

    def make(actor=None, **fields):
        outcome = incident_report(actor=actor or zhuhai, data=typhoon_report(**fields))
        return outcome.incident

    return make


def deliver() -> int:
    """Number the events written so far and hand the incident ones to the engine, as the
    dispatcher does (every time all of them: the engine must shrug off redelivery)."""
    from django.db import transaction

    from coordination.workflows.triggers import INCIDENT_EVENTS, on_events
    from sharing.eventlog import sequence_pending
    from sharing.models import Event

    sequence_pending()
    events = list(Event.objects.filter(seq__isnull=False, name__in=INCIDENT_EVENTS).order_by("seq"))
    with transaction.atomic():
        on_events(events)
    return len(events)


class Clock:
    """Simulated time for the engine: tests pass `clock.now` to the engine's entry points.
    It starts a little ahead, so what the test sets up in real time is due at `clock.now`."""

    def __init__(self):
        self.now = timezone.now() + timedelta(seconds=5)

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(autouse=True)
def _sweep_without_grace(settings):
    """In-process tests have no countdown tasks to leave due work to: the sweep does it all."""
    settings.WORKFLOW_SWEEP_GRACE_SECONDS = 0


def drive(now: datetime, *, rounds: int = 20) -> dict:
    """Sweep until nothing due at `now` is left (a step's successor may be due at once)."""
    from coordination.workflows.deadlines import sweep

    total = {"steps": 0, "acknowledgements": 0, "reconciled": 0, "queued": 0}
    for _ in range(rounds):
        counts = sweep(now=now, budget_seconds=60)
        for key, value in counts.items():
            total[key] += value
        if not counts["steps"] and not counts["acknowledgements"] and not counts["reconciled"]:
            break
    return total


def names(**filters) -> list[str]:
    from sharing.models import Event

    return list(Event.objects.filter(**filters).order_by("id").values_list("name", flat=True))


AFFECTED = sorted([ZHUHAI, ZHONGSHAN, MACAO])


# --- real worker processes ---------------------------------------------------------------------


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Workers:
    """Celery worker processes on this test's database and Redis db, each in its own process
    group (so a kill reaches its pool children), always stopped at the end of the test."""

    def __init__(self, tmp_path: Path, redis_url: str):
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.procs: dict[str, subprocess.Popen] = {}

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=_database_url(), REDIS_URL=self.redis_url, DJANGO_SETTINGS_MODULE="config.settings",
            DEADLINE_SCALE=str(settings.DEADLINE_SCALE), WORKFLOW_SWEEP_SECONDS="1",
            WORKFLOW_SWEEP_GRACE_SECONDS="0.5", WORKFLOW_AUDIT_SECONDS="1", WORKFLOW_STALL_SECONDS="3",
            CELERY_VISIBILITY_TIMEOUT="10", DATABASE_POOL="0", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
        )
        env.pop("TEST_DATABASE_NAME", None)
        env.update(extra)
        return env

    def start(self, name: str, *, beat: bool = True, concurrency: int = 2, **env) -> subprocess.Popen:
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h",
                "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        if beat:
            args += ["-B", "--schedule", str(self.tmp_path / f"beat-{name}")]
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log = log
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        proc.log.close()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
                         for path in sorted(self.tmp_path.glob("*.log")))


@pytest.fixture
def workers(tmp_path, redis_url, postgres, settings):
    """Start worker processes with workers.start(name); all are killed afterwards. Redis db is
    flushed first, so no task left over from another test reaches these workers."""
    import redis

    settings.DEADLINE_SCALE = 0.002  # a 30-minute deadline is 3.6 s
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    pool = Workers(tmp_path, redis_url)
    try:
        yield pool
    except BaseException:
        raise
    finally:
        pool.stop_all()
        client.flushdb()
        client.close()
        connection.close()


def wait_for(condition, *, timeout: float, interval: float = 0.2, what: str = "condition", workers=None):
    """Poll a database condition (another process is doing the work) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = workers.logs() if workers is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{detail}")
        time.sleep(interval)
