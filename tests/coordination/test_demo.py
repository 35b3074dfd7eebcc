import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from coordination.geometry import boundary_index
from coordination.models import Cluster, CoordinationBody, Jurisdiction
from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, SHENZHEN, ZHUHAI

pytestmark = pytest.mark.django_db


def test_it_loads_the_greater_bay_area():
    out = StringIO()
    call_command("load_demo", stdout=out)
    gba = Cluster.objects.get(code="GBA")
    assert sorted(gba.jurisdictions.values_list("code", flat=True)) == sorted(GBA_CODES)
    assert set(gba.jurisdictions.filter(is_core=True).values_list("code", flat=True)) == {
        "810000", "820000", "440100", "440300"}
    assert Cluster.objects.count() == 19
    shenzhen = Jurisdiction.objects.get(code=SHENZHEN)
    assert set(shenzhen.neighbours.values_list("code", flat=True)) == {DONGGUAN, "441300", HONG_KONG}
    # Symmetric adjacency: Hong Kong lists Shenzhen back.
    assert SHENZHEN in Jurisdiction.objects.get(code=HONG_KONG).neighbours.values_list("code", flat=True)
    assert shenzhen.circle.code == "SGH" and shenzhen.circle.lead_id == SHENZHEN
    assert shenzhen.boundary_source == "approximate"
    assert CoordinationBody.objects.filter(cluster=gba, kind="committee").count() == 1
    assert "GBA" in out.getvalue()


def test_it_changes_nothing_when_run_twice():
    call_command("load_demo", stdout=StringIO())
    before = {j.code: (j.name_zh, j.boundary_updated_at, j.circle_id) for j in Jurisdiction.objects.all()}
    call_command("load_demo", stdout=StringIO())
    after = {j.code: (j.name_zh, j.boundary_updated_at, j.circle_id) for j in Jurisdiction.objects.all()}
    assert before == after
    assert Cluster.objects.count() == 19


def test_the_committee_officers_come_only_with_a_password_and_can_log_in(client):
    from django.contrib.auth import get_user_model

    from coordination.bodies import body_member_members

    call_command("load_demo", stdout=StringIO())
    assert body_member_members(body="GBA-COMMITTEE") == []  # no login with a known password by default
    out = StringIO()
    call_command("load_demo", "--officers-password", "demo-Secret-1", stdout=out)
    call_command("load_demo", "--officers-password", "demo-Secret-1", stdout=StringIO())  # again: no change
    assert body_member_members(body="GBA-COMMITTEE") == [
        ("committee-gz", "440100", "commander"), ("committee-hk", "810000", "commander"),
        ("committee-mo", "820000", "commander"), ("committee-sz", "440300", "commander")]
    assert "log in as committee-hk (commander, 810000), seated on GBA-COMMITTEE" in out.getvalue()
    assert get_user_model().objects.get(username="committee-mo").check_password("demo-Secret-1")


def test_its_geometry_puts_landmarks_in_the_right_city(gba):
    boundary_index.invalidate()
    assert boundary_index.containing_point(lat=22.271, lon=113.553) == {ZHUHAI}
    assert boundary_index.containing_point(lat=22.543, lon=114.055) == {SHENZHEN}
    assert boundary_index.containing_point(lat=22.282, lon=114.158) == {HONG_KONG}


def test_the_demo_geometry_checker_passes():
    demo = Path(__file__).resolve().parents[2] / "coordination" / "demo"
    result = subprocess.run([sys.executable, str(demo / "check_geometry.py"), str(demo / "gba.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
