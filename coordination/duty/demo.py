"""The demo cluster's duty rosters (manage.py load_demo): one per GBA jurisdiction and per GBA
coordination body, each with a demo shift from today 08:00 (the cluster's time) for eight days
when officers exist to stand on it: the first by username is the primary, the next two the
backups. Safe to run again: the demo shift (UID `demo-<owner>@liandong`) is moved to the new
week, unless the roster already has other shifts in that week (someone's real ones)."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from coordination.duty.models import Roster, Shift
from coordination.duty.selectors import eligible_users, roster_zone
from coordination.duty.services import ShiftSpec, apply_shifts, check_no_overlap, roster_ensure
from coordination.models import CoordinationBody, Jurisdiction

DEMO_CLUSTER = "GBA"
DEMO_DAYS = 8


def _demo_shift(roster: Roster, now: datetime) -> bool:
    people = list(eligible_users(roster).order_by("username")[:3])
    if not people:
        return False
    zone = roster_zone(roster)
    start = datetime.combine(now.astimezone(zone).date(), time(8), tzinfo=zone)
    if start > now:
        start -= timedelta(days=1)
    spec = ShiftSpec(uid=f"demo-{roster.owner_code}@liandong", starts_at=start,
                     ends_at=start + timedelta(days=DEMO_DAYS), primary=people[0],
                     backups=tuple(people[1:]), note="demo")
    others = Shift.objects.filter(roster=roster, starts_at__lt=spec.ends_at, ends_at__gt=spec.starts_at)
    if others.exclude(uid=spec.uid).exists():
        return False
    with transaction.atomic():
        Roster.objects.select_for_update().get(pk=roster.pk)
        check_no_overlap(roster, [spec])
        created, updated = apply_shifts(roster, [spec])
    return bool(created or updated)


def load_demo_rosters(summary, now: datetime | None = None) -> None:
    now = now or timezone.now()
    owners = [{"jurisdiction": j} for j in Jurisdiction.objects.filter(clusters__code=DEMO_CLUSTER).order_by("code")]
    owners += [{"body": b} for b in CoordinationBody.objects.filter(cluster_id=DEMO_CLUSTER).order_by("code")]
    for owner in owners:
        roster, created = roster_ensure(actor=None, **owner)
        summary.count("duty rosters", created)
        if _demo_shift(roster, now):
            summary.count("demo shifts", True)
