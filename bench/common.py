"""What every benchmark needs: the services stack on 127.0.0.1, free ports, server processes,
percentiles, and the row format of the runner's table."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/liandong_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def row(figure: str, ours: float, baseline: float | None, target: str, holds: bool | None, unit: str = "") -> dict:
    ratio = (ours / baseline) if baseline else None
    return {"figure": figure, "ours": round(ours, 3), "baseline": None if baseline is None else round(baseline, 3),
            "ratio": None if ratio is None else round(ratio, 3), "unit": unit, "target": target, "holds": holds}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=BENCH_DATABASE_URL, REDIS_URL=BENCH_REDIS_URL, LOG_LEVEL="WARNING",
               API_RATE_LIMIT="1000000/min", DJANGO_SETTINGS_MODULE="config.settings")
    env.update(extra)
    return env


def _admin_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/postgres")), parsed.path.lstrip("/")


def prepare_database() -> None:
    """A fresh benchmark database with the schema and the demo cluster, and an empty Redis."""
    import psycopg

    admin, name = _admin_url(BENCH_DATABASE_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--no-input", "-v", "0")
    manage("load_demo")
    # And an empty benchmark Redis: tasks a stopped run left queued would be done by the next
    # run's worker in the middle of its measurements.
    import redis

    client = redis.Redis.from_url(BENCH_REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def manage(*args: str, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env or bench_env(),
                            capture_output=True, text=True, check=True)
    return result.stdout


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


@contextlib.contextmanager
def process(name: str, args: list[str], *, env: dict | None = None, ready_url: str | None = None,
            ready_text: bytes = b""):
    """A child process for the length of a benchmark, ready when `ready_url` answers or its
    output shows `ready_text`; stopped with its group afterwards. Its output goes to a file (a
    pipe nobody reads would stall a chatty child and skew the figure); its tail is shown if the
    child fails to start or the benchmark fails while it runs."""
    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env or bench_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            try:
                if ready_url:
                    wait_for_http(ready_url)
                deadline = time.monotonic() + 30
                while ready_text and ready_text not in log.read_bytes():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not start")
                    time.sleep(0.1)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}") from None
            try:
                yield proc
            except BaseException:
                print(f"--- {name}'s output ---\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
                raise
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.unlink(missing_ok=True)


@contextlib.contextmanager
def phase(name: str):
    """Print how long a part of a benchmark took (the runner's budget is reasoned about part by
    part: docs/operations.md, "Benchmarks")."""
    started = time.monotonic()
    try:
        yield
    finally:
        print(f"  {name}: {time.monotonic() - started:.0f}s", flush=True)


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (KiB), from /proc."""
    total = 0
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total
