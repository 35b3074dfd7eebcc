"""`python -m bench [--quick] [--only NAME ...]`: every benchmark of the project in one run.

Runs on the services stack (PostgreSQL, Redis, real ASGI server processes, a real Celery
worker) on 127.0.0.1, each figure beside its baseline measured in the same run, and prints one
table (figure, ours, baseline, ratio, target, holds); writes it to bench/results/latest.json.
--quick is a smoke run (small counts) that CI runs so the runner cannot rot.
"""

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from bench.common import BENCH_DATABASE_URL, BENCH_REDIS_URL, prepare_database

# Each module has run(*, quick: bool) -> list[dict] (rows made by bench.common.row).
MODULES = ["bench.incidents", "bench.stream", "bench.workflows"]
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", nargs="*", help="module names, e.g. incidents stream")
    args = parser.parse_args(argv)
    selected = [m for m in MODULES if not args.only or m.split(".")[-1] in args.only]
    print(f"database {BENCH_DATABASE_URL}, redis {BENCH_REDIS_URL}", flush=True)
    prepare_database()
    rows, started = [], time.monotonic()
    for name in selected:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"{name}: not present, skipped", flush=True)
            continue
        print(f"running {name} ...", flush=True)
        rows += module.run(quick=args.quick)
    print()
    print(format_table(rows))
    print(f"\n{len(rows)} figures in {time.monotonic() - started:.0f}s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
