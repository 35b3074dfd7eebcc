"""Playbook engine throughput and deadline lateness: 1,000 concurrent runs of the default flood
playbook (cross-border-flood-typhoon) on one Celery worker.

Typhoons reported by Zhuhai at level II, touching Zhongshan and Macao, arrive at a steady pace;
nobody acknowledges, so every run notifies, asks, opens a joint command, convenes a meeting,
requests mutual aid, waits for its approval and escalates each silence along its chain.
DEADLINE_SCALE shrinks the plan's two hours to a few minutes, so all runs are under way at
once. Figures:

- runs under way at the peak (arrivals are spread over about a run's length, so the deadlines
  fall at a steady pace: all 1,000 at once would put 2,000 deadlines in the same second);
- steps per second: every step and every escalation the worker did, over the time from the
  first run's start to the last one's end, and in the busiest 10 seconds;
- deadline lateness: how long after it was due a deadline was acted on (an acknowledgement's
  deadline and each escalation window, a wait's timeout, an approval's timeout). Target: p99
  under 2 s (the issue's).

`python -m bench.workflows [--quick]` runs it alone (it prepares the benchmark database).
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import bench_env, percentile, prepare_database, process, row

FLOOD = "cross-border-flood-typhoon"
ZHUHAI = "440400"
AREA = {"type": "Polygon", "coordinates": [[
    [113.45, 22.12], [113.58, 22.12], [113.58, 22.45], [113.45, 22.45], [113.45, 22.12],
]]}


def _setup_django(scale: float) -> None:
    os.environ.update(bench_env(DEADLINE_SCALE=str(scale)))
    import django
    from django.conf import settings

    django.setup()
    settings.DEADLINE_SCALE = scale


def _reporter():
    from coordination.authentication import principal_for_token
    from coordination.services import api_client_create

    _, token = api_client_create(name=f"bench-{time.time_ns()}", jurisdiction_code=ZHUHAI)
    return principal_for_token(token)


def _report(actor, count: int, *, per_second: float) -> float:
    """`count` typhoons reported by Zhuhai at `per_second`, the worker running: its dispatcher
    starts a run for each as they come in, as in service. Returns when the first was reported.

    Until 2026-11 the reports were written before the worker started and the runs were started
    from here at the pace; but the worker's dispatcher, finding the reports' events at its
    start, started all 1,000 runs itself within about 12 s, so the deadlines fell in a burst."""
    from django.utils import timezone

    from incidents.services import incident_report_many

    batch = max(1, int(per_second / 5))
    started = time.monotonic()
    for first in range(0, count, batch):
        time.sleep(max(0.0, started + first / per_second - time.monotonic()))
        items = [{"title": f"Typhoon bench {n}", "category": "natural_disaster", "type": "typhoon", "level": "II",
                  "occurred_at": timezone.now() - timedelta(minutes=5), "location": {"lat": 22.22, "lon": 113.5},
                  "affected_area": AREA} for n in range(first, min(count, first + batch))]
        problems = [o.problem for o in incident_report_many(actor=actor, items=items) if o.problem is not None]
        if problems:
            raise RuntimeError(f"reports refused: {problems[:3]}")
    return started


def _lateness() -> list[float]:
    """Seconds between when each deadline was due and when it was acted on."""
    from django.conf import settings

    from coordination.workflows.definitions import escalation_of
    from coordination.workflows.models import Acknowledgement, Escalation, StepRun

    late: list[float] = []
    timed = StepRun.objects.filter(run__playbook__code=FLOOD, kind__in=["wait", "publish_alert"],
                                   done_at__isnull=False, outcome__timed_out=True)
    for due_at, done_at in timed.values_list("due_at", "done_at"):
        late.append((done_at - due_at).total_seconds())
    escalations: dict = {}
    for ack_id, stage, raised_at in Escalation.objects.filter(acknowledgement__isnull=False).values_list(
            "acknowledgement_id", "stage", "raised_at"):
        escalations.setdefault(ack_id, {})[stage] = raised_at
    acks = Acknowledgement.objects.filter(pk__in=list(escalations)).select_related("run")
    for ack in acks:
        window = timedelta(seconds=escalation_of(ack.run.definition).seconds(ack.level) * settings.DEADLINE_SCALE)
        stages = escalations[ack.pk]
        for stage, raised_at in sorted(stages.items()):
            due = ack.due_at if stage == 1 else stages[stage - 1] + window
            late.append((raised_at - due).total_seconds())
    return late


def _work_times() -> list:
    """When each step and each escalation was done."""
    from coordination.workflows.models import Escalation, StepRun

    return [*StepRun.objects.filter(done_at__isnull=False).values_list("done_at", flat=True),
            *Escalation.objects.values_list("raised_at", flat=True)]


def _peak_rate(times: list, *, window: float = 10.0) -> float:
    """The most work done in any `window` seconds, per second (the worker's pace under load)."""
    moments = sorted(t.timestamp() for t in times)
    best, first = 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] > window:
            first += 1
        best = max(best, last - first + 1)
    return best / window


def _peak_concurrency() -> int:
    """The most runs under way at one moment."""
    from coordination.workflows.models import WorkflowRun

    changes = []
    for started_at, finished_at in WorkflowRun.objects.values_list("started_at", "finished_at"):
        changes += [(started_at, 1), (finished_at, -1)]
    running = peak = 0
    for _, change in sorted(changes, key=lambda item: (item[0], item[1])):
        running += change
        peak = max(peak, running)
    return peak


def run(*, quick: bool) -> list[dict]:
    # All 1,000 runs under way at once, the deadlines falling at a steady pace rather than in the
    # same second: the arrivals are spread over a little less than the shortest run's life. The
    # plan's two hours (deadline 30 min, escalation windows 20 min, waits 1 h) take about 2
    # minutes (DEADLINE_SCALE 0.0175); with nobody answering a run then lives 94 to 207 s
    # (median 187 s, measured), so the 1,000 arrive at 11/s (91 s): the first is still under
    # way when the last arrives, and the module lasts about 91 + 207 s.
    # History of the choice: at 4/s and 4-minute plans the module alone took 511 s (p99 0.19 s),
    # more than the runner's budget leaves it; at 8/s (2026-12-07, quiet 2 cores, full run 532 s,
    # this module 331 s) the peak was only 816 runs (the first had ended before the last
    # arrived), p99 3.1 s. A worker of 4 processes instead of 2 was worse (p99 46 s under load):
    # the 2 cores are the limit, shared with PostgreSQL. The pace is what the target asks for
    # (1,000 at once), and the lateness it gives is reported as it is: at 11/s (2026-12-07, quiet
    # machine, full run 502 s, this module 258 s) the peak was 1,000, 6,000 deadlines measured,
    # p50 0.65 s, p99 12.7 s (steps 52/s mean, 170/s in the busiest 10 s).
    count, per_second, scale = (30, 10.0, 0.005) if quick else (1000, 11.0, 0.0175)
    _setup_django(scale)
    from coordination.workflows.models import RunState, WorkflowRun

    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(DEADLINE_SCALE=str(scale), WORKFLOW_SWEEP_SECONDS="5", LOG_LEVEL="WARNING")
        worker = [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "2",
                  "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
                  "--schedule", str(Path(tmp) / "beat")]
        actor = _reporter()
        with process("worker", worker, env=env):
            time.sleep(5)  # the worker's start-up is not measured
            started = _report(actor, count, per_second=per_second)
            reported = time.monotonic() - started
            deadline = time.monotonic() + 900
            while WorkflowRun.objects.filter(state=RunState.COMPLETED).count() < count:
                if time.monotonic() > deadline:
                    raise RuntimeError("the runs did not complete within 15 minutes")
                time.sleep(1)
            elapsed = time.monotonic() - started
    measuring = time.monotonic()
    times = _work_times()
    late = _lateness()
    p50, p99 = percentile(late, 50), percentile(late, 99)
    peak = _peak_concurrency()
    measuring = time.monotonic() - measuring
    label = f"workflows: {count} flood runs, 1 worker"
    return [
        # Where the module's time goes, so the runner's budget can be reasoned about.
        row(f"{label}: arrivals took", reported, None, "", None, "s"),
        row(f"{label}: first arrival to last run completed", elapsed, None, "", None, "s"),
        row(f"{label}: reading the figures took", measuring, None, "", None, "s"),
        row(f"{label}: runs under way at the peak", float(peak), None, "", None),
        row(f"{label}: steps per second (mean)", len(times) / elapsed, None, "", None, "/s"),
        row(f"{label}: steps per second (busiest 10 s)", _peak_rate(times), None, "", None, "/s"),
        row(f"{label}: deadline lateness p50", p50, None, "", None, "s"),
        row(f"{label}: deadline lateness p99", p99, None, "< 2 s", p99 < 2.0, "s"),
        row(f"{label}: deadlines measured", float(len(late)), None, "", None),
    ]


def main(argv=None) -> int:
    from bench.__main__ import format_table

    parser = argparse.ArgumentParser(prog="python -m bench.workflows", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    prepare_database()
    print(format_table(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
