"""The demo's rosters: one per GBA jurisdiction and body, a shift this week where officers exist."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from coordination.duty.models import Roster, Shift
from coordination.duty.selectors import on_duty
from coordination.models import Jurisdiction
from tests.conftest import DONGGUAN, GBA_CODES, SHENZHEN

pytestmark = pytest.mark.django_db


def test_load_demo_makes_rosters_and_is_safe_to_run_again(gba, make_officer):
    make_officer("sz-1", SHENZHEN)
    make_officer("sz-2", SHENZHEN)
    call_command("load_demo", stdout=io.StringIO())
    assert set(Roster.objects.exclude(jurisdiction=None).values_list("jurisdiction_id", flat=True)) >= set(GBA_CODES)
    now = timezone.now()
    for moment in (now, now + timedelta(days=7)):
        assert [p.username for p in on_duty(Jurisdiction.objects.get(code=SHENZHEN), moment)] == ["sz-1", "sz-2"]
    assert on_duty(Jurisdiction.objects.get(code=DONGGUAN), now) == []  # nobody to stand on it
    shifts = list(Shift.objects.values_list("uid", "starts_at"))
    call_command("load_demo", stdout=io.StringIO())
    assert list(Shift.objects.values_list("uid", "starts_at")) == shifts
