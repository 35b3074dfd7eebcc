"""Two charts for officers who would rather look than read, drawn as SVG by the server (no
chart script, readable offline and on paper), each with its numbers as a table beside it.

- Incidents by level over the last days: what the officer may see, reported per day in the
  cluster's time zone, drills left out (they never count in real figures).
- Acknowledgement times per jurisdiction: the median minutes from request to answer over the
  last days, for the acknowledgements the officer may see.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from coordination.principals import Principal
from coordination.workflows.models import AckStatus
from coordination.workflows.selectors import acknowledgements_visible_to
from incidents.selectors import incident_list_visible_to
from ui.labels import LEVELS

DAYS = 14
ACK_DAYS = 30

# Drawing area of the level chart (SVG user units; the SVG scales to its box).
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 180, 28, 22, 8


@dataclass(frozen=True)
class Bar:
    level: str
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass(frozen=True)
class Day:
    date: object
    counts: dict
    total: int
    bars: list
    label_x: float


def incidents_by_level(*, principal: Principal, days: int = DAYS) -> dict:
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (incident_list_visible_to(principal=principal).filter(created_at__gte=start, exercise=False)
            .values_list("created_at", "level"))
    counts = {first + timedelta(days=n): dict.fromkeys(LEVELS, 0) for n in range(days)}
    for created_at, level in rows:
        day = timezone.localtime(created_at).date()
        if day in counts:
            counts[day][level] += 1
    peak = max((sum(c.values()) for c in counts.values()), default=0)
    scale_max = max(peak, 1)
    plot_height = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / days
    bar_width = step * 0.7
    result = []
    for n, (day, by_level) in enumerate(counts.items()):
        x = LEFT + n * step + (step - bar_width) / 2
        y = HEIGHT - BOTTOM
        bars = []
        # Most severe at the top of the stack, where the eye lands first.
        for level in reversed(LEVELS):
            if by_level[level]:
                height = plot_height * by_level[level] / scale_max
                y -= height
                bars.append(Bar(level, round(x, 1), round(y, 1), round(bar_width, 1), round(height, 1),
                                by_level[level]))
        result.append(Day(day, by_level, sum(by_level.values()), bars, round(x + bar_width / 2, 1)))
    return {
        "days": result,
        "peak": peak,
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": HEIGHT - BOTTOM,
        "left": LEFT,
        "top": TOP,
        "total": sum(day.total for day in result),
    }


@dataclass(frozen=True)
class AckTime:
    jurisdiction: str
    median_minutes: float
    count: int
    late: int
    width: float


def acknowledgement_times(*, principal: Principal, days: int = ACK_DAYS) -> list[AckTime]:
    since = timezone.now() - timedelta(days=days)
    rows = (acknowledgements_visible_to(principal=principal)
            .filter(status=AckStatus.ACKNOWLEDGED, acknowledged_at__gte=since, incident__exercise=False)
            .values_list("jurisdiction_id", "requested_at", "acknowledged_at", "due_at"))
    minutes: dict[str, list[float]] = {}
    late: dict[str, int] = {}
    for code, requested_at, acknowledged_at, due_at in rows:
        minutes.setdefault(code, []).append(max((acknowledged_at - requested_at).total_seconds(), 0) / 60)
        late[code] = late.get(code, 0) + (acknowledged_at > due_at)
    medians = {code: statistics.median(values) for code, values in minutes.items()}
    longest = max(medians.values(), default=0) or 1
    return [
        AckTime(code, round(median, 1), len(minutes[code]), late[code], round(100 * median / longest, 1))
        for code, median in sorted(medians.items(), key=lambda item: (-item[1], item[0]))
    ]
