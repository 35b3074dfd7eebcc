"""Who is on duty: shifts, backups in order, overrides and swaps; times in the cluster's zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.errors import Conflict, PermissionDenied, ValidationFailed
from coordination.duty.models import Override
from coordination.duty.selectors import on_duty, roster_zone
from coordination.duty.services import override_create, shift_create, swap_record
from coordination.models import AuditEntry, Jurisdiction
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def names(people) -> list[str]:
    return [person.username for person in people]


def test_the_roster_is_read_in_its_clusters_zone(sz_roster):
    assert roster_zone(sz_roster) == SHANGHAI


def test_night_shift_across_midnight_and_the_next_one(sz_roster, sz_people):
    # 20:00 to 08:00 Beijing time is 12:00 to 00:00 UTC: midnight in one zone is midday in the other.
    shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 20), ends_at=local(2026, 3, 2, 8),
                 primary="duty-a", backups=["duty-b", "duty-c"])
    shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 2, 8), ends_at=local(2026, 3, 2, 20),
                 primary="duty-d")
    assert names(on_duty(sz_roster, local(2026, 3, 1, 19, 59, 59))) == []
    assert names(on_duty(sz_roster, local(2026, 3, 1, 20))) == ["duty-a", "duty-b", "duty-c"]
    assert names(on_duty(sz_roster, local(2026, 3, 1, 23, 59, 59))) == ["duty-a", "duty-b", "duty-c"]
    assert names(on_duty(sz_roster, local(2026, 3, 2, 0, 0))) == ["duty-a", "duty-b", "duty-c"]
    # The same instant written in UTC: 2026-03-01 16:00Z is midnight in Shanghai.
    assert names(on_duty(sz_roster, datetime(2026, 3, 1, 16, tzinfo=ZoneInfo("UTC")))) == ["duty-a", "duty-b",
                                                                                          "duty-c"]
    assert names(on_duty(sz_roster, local(2026, 3, 2, 7, 59, 59))) == ["duty-a", "duty-b", "duty-c"]
    assert names(on_duty(sz_roster, local(2026, 3, 2, 8))) == ["duty-d"]  # the end is not in the shift
    assert [p.position for p in on_duty(sz_roster, local(2026, 3, 2, 1))] == [0, 1, 2]
    assert on_duty(Jurisdiction.objects.get(code=SHENZHEN), local(2026, 3, 2, 9))[0].username == "duty-d"
    assert on_duty(Jurisdiction.objects.get(code=DONGGUAN), local(2026, 3, 2, 9)) == []  # no roster


def test_a_time_without_zone_is_refused(sz_roster):
    with pytest.raises(ValidationFailed):
        on_duty(sz_roster, datetime(2026, 3, 2, 9))


def test_overrides_replace_in_place_newest_wins_and_no_one_twice(sz_roster, sz_people):
    shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                 primary="duty-a", backups=["duty-b", "duty-c"])
    override_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 10), ends_at=local(2026, 3, 1, 12),
                    replaced="duty-a", substitute="duty-d", note="doctor")
    at_11 = on_duty(sz_roster, local(2026, 3, 1, 11))
    assert names(at_11) == ["duty-d", "duty-b", "duty-c"]
    assert at_11[0].stands_in_for == "duty-a" and at_11[1].stands_in_for is None
    assert names(on_duty(sz_roster, local(2026, 3, 1, 12))) == ["duty-a", "duty-b", "duty-c"]  # over
    # A newer override of the same person wins; one that puts a backup in first place drops
    # the backup's later place.
    override_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 10), ends_at=local(2026, 3, 1, 12),
                    replaced="duty-a", substitute="duty-c")
    assert names(on_duty(sz_roster, local(2026, 3, 1, 11))) == ["duty-c", "duty-b"]


def test_a_swap_is_two_overrides(sz_roster, sz_people, principal_for):
    day = shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                       primary="duty-a", backups=["duty-c"])
    night = shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 20), ends_at=local(2026, 3, 2, 8),
                         primary="duty-b")
    swap_record(actor=None, roster=sz_roster, first_shift=day.uid, first="duty-a", second_shift=night.uid,
                second="duty-b")
    assert names(on_duty(sz_roster, local(2026, 3, 1, 9))) == ["duty-b", "duty-c"]
    assert names(on_duty(sz_roster, local(2026, 3, 2, 1))) == ["duty-a"]
    assert list(Override.objects.values_list("reason", flat=True)) == ["swap", "swap"]
    with pytest.raises(ValidationFailed):
        swap_record(actor=None, roster=sz_roster, first_shift=day.uid, first="duty-d", second_shift=night.uid,
                    second="duty-b")
    with pytest.raises(PermissionDenied):  # an operator may not, whatever the shifts
        swap_record(actor=principal_for(SHENZHEN, role="operator"), roster=sz_roster, first_shift="x", first="y",
                    second_shift="z", second="w")


def test_overlapping_shifts_are_refused(sz_roster, sz_people):
    shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                 primary="duty-a")
    with pytest.raises(Conflict) as refused:
        shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 19), ends_at=local(2026, 3, 2, 7),
                     primary="duty-b")
    assert "overlap" in refused.value.detail and "2026-03-01 08:00" in refused.value.detail
    # Touching is not overlapping.
    shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 20), ends_at=local(2026, 3, 2, 8),
                 primary="duty-b")


def test_people_must_belong_to_the_owner(sz_roster, sz_people, make_officer):
    make_officer("dg-officer", DONGGUAN)
    with pytest.raises(ValidationFailed) as refused:
        shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                     primary="duty-a", backups=["dg-officer"])
    assert refused.value.errors == {"backups": ["dg-officer is not an officer of 深圳市 (Shenzhen)."]}
    with pytest.raises(ValidationFailed):
        shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                     primary="duty-a", backups=["duty-a"])
    with pytest.raises(ValidationFailed):
        shift_create(actor=None, roster=sz_roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 8),
                     primary="duty-a")


def test_body_rosters_take_the_officers_seated_on_the_body(gba, make_officer):
    from coordination.duty.services import roster_ensure
    from coordination.models import BodyMembership, CoordinationBody

    body = CoordinationBody.objects.filter(cluster_id="GBA").first()
    roster, _ = roster_ensure(actor=None, body=body)
    seated = make_officer("seated", DONGGUAN)
    make_officer("not-seated", SHENZHEN)
    BodyMembership.objects.create(user=seated, body=body)
    shift_create(actor=None, roster=roster, starts_at=local(2026, 3, 1, 8), ends_at=local(2026, 3, 1, 20),
                 primary="seated")
    assert names(on_duty(body, local(2026, 3, 1, 9))) == ["seated"]
    with pytest.raises(ValidationFailed) as refused:
        shift_create(actor=None, roster=roster, starts_at=local(2026, 3, 2, 8), ends_at=local(2026, 3, 2, 20),
                     primary="not-seated")
    assert "is not seated on" in refused.value.detail


def test_who_may_write_and_every_write_is_audited(sz_roster, sz_people, principal_for):
    start = local(2026, 3, 1, 8)
    with pytest.raises(PermissionDenied):  # an operator of Shenzhen
        shift_create(actor=principal_for(SHENZHEN, role="operator"), roster=sz_roster, starts_at=start,
                     ends_at=start + timedelta(hours=12), primary="duty-a")
    with pytest.raises(PermissionDenied):  # a commander of another city
        shift_create(actor=principal_for(DONGGUAN, role="commander"), roster=sz_roster, starts_at=start,
                     ends_at=start + timedelta(hours=12), primary="duty-a")
    with pytest.raises(PermissionDenied):  # a city system: rosters are no scope's business
        shift_create(actor=principal_for(SHENZHEN), roster=sz_roster, starts_at=start,
                     ends_at=start + timedelta(hours=12), primary="duty-a")
    commander = principal_for(SHENZHEN, role="commander")
    coordinator = principal_for(DONGGUAN, role="coordinator")  # Dongguan's coordinator: the same cluster
    before = AuditEntry.objects.order_by("id").last().pk
    shift_create(actor=commander, roster=sz_roster, starts_at=start, ends_at=start + timedelta(hours=12),
                 primary="duty-a")
    override_create(actor=coordinator, roster=sz_roster, starts_at=start, ends_at=start + timedelta(hours=1),
                    replaced="duty-a", substitute="duty-b")
    entries = list(AuditEntry.objects.filter(pk__gt=before).order_by("id"))
    assert [(e.action, e.object_jurisdiction) for e in entries] == [
        ("roster.shift_created", SHENZHEN), ("roster.override_created", SHENZHEN)]
    assert entries[1].actor_jurisdiction == DONGGUAN
