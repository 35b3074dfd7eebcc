"""`python -m bench [--quick] [--only NAME ...]`: every benchmark of the project in one run.

Runs on the services stack (PostgreSQL, Redis, real ASGI server processes, a real Celery
worker) on 127.0.0.1, each figure beside its baseline measured in the same run, and prints one
table (figure, ours, baseline, ratio, target, holds); writes it to bench/results/latest.json.
--quick is a smoke run (small counts) that CI runs so the runner cannot rot.

The whole run is bounded: `--budget` seconds (default 570, under the 10 minutes the issue
allows; 300 with --quick). Past it the module running is stopped (its processes killed on the
way out), the table printed with what was measured and the run fails. A module that fails is
a row saying so and a failed run, not a lost table. Only loopback addresses are measured.
"""

import argparse
import contextlib
import importlib
import ipaddress
import json
import os
import platform
import signal
import socket
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from bench.common import BENCH_DATABASE_URL, BENCH_REDIS_URL, prepare_database

# Each module has run(*, quick: bool) -> list[dict] (rows made by bench.common.row).
MODULES = ["bench.incidents", "bench.stream", "bench.workflows", "bench.notify"]
RESULTS = Path(__file__).resolve().parent / "results"


def format_table(rows: list[dict]) -> str:
    header = ["figure", "ours", "baseline", "ratio", "target", "holds"]
    lines = [[str(r["figure"]), f"{r['ours']}{r.get('unit', '')}",
              "" if r["baseline"] is None else f"{r['baseline']}{r.get('unit', '')}",
              "" if r["ratio"] is None else f"{r['ratio']:.2f}x", r["target"],
              {True: "yes", False: "NO", None: "-"}[r["holds"]]] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


class BudgetExceeded(Exception):
    pass


@contextlib.contextmanager
def budget(seconds: float):
    """Raise BudgetExceeded in the main thread once `seconds` have passed (SIGALRM), so the
    module running unwinds through its `finally` blocks and its processes are stopped."""

    def expired(signum, frame):
        raise BudgetExceeded(f"the run took more than its budget of {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def loopback_only(*urls: str) -> None:
    """Benchmarks send load: never to anything but this machine."""
    for url in urls:
        host = urlparse(url).hostname or ""
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)} if host else set()
        if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
            raise SystemExit(f"refusing to benchmark against {url}: only loopback addresses are measured")


def failed_row(figure: str, detail: str) -> dict:
    return {"figure": figure, "ours": None, "baseline": None, "ratio": None, "unit": "", "target": detail,
            "holds": False}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", nargs="*", help="module names, e.g. incidents stream")
    parser.add_argument("--budget", type=float, help="seconds the whole run may take (default 570; 300 with --quick)")
    args = parser.parse_args(argv)
    limit = args.budget or (300.0 if args.quick else 570.0)
    selected = [m for m in MODULES if not args.only or m.split(".")[-1] in args.only]
    loopback_only(BENCH_DATABASE_URL, BENCH_REDIS_URL)
    print(f"database {BENCH_DATABASE_URL}, redis {BENCH_REDIS_URL}, budget {limit:.0f}s", flush=True)
    rows, errors, started = [], [], time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with budget(limit):
            prepare_database()
            for name in selected:
                try:
                    module = importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name != name:
                        raise
                    print(f"{name}: not present, skipped", flush=True)
                    continue
                print(f"running {name} ...", flush=True)
                module_started = time.monotonic()
                try:
                    rows += module.run(quick=args.quick)
                except BudgetExceeded:
                    raise
                except Exception as exc:  # one benchmark failing must not lose the others' figures
                    traceback.print_exc()
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    rows.append(failed_row(f"{name}: did not finish", f"{type(exc).__name__}"))
                print(f"{name}: {time.monotonic() - module_started:.0f}s", flush=True)
    except BudgetExceeded as exc:
        errors.append(str(exc))
        rows.append(failed_row("the whole run", f"over budget ({limit:.0f}s)"))
    elapsed = time.monotonic() - started
    print()
    print(format_table(rows))
    held = sum(1 for r in rows if r["holds"] is True)
    missed = sum(1 for r in rows if r["holds"] is False)
    reported = len(rows) - held - missed
    print(f"\n{len(rows)} figures in {elapsed:.0f}s: {held} hold, {missed} do not, {reported} only reported")
    for error in errors:
        print(f"ERROR {error}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({
        "quick": args.quick, "started_at": started_at, "seconds": round(elapsed, 1), "budget_seconds": limit,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "errors": errors, "rows": rows,
    }, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
