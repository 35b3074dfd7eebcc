"""The roster endpoints: who sees what (404), who writes (403), problems, audit, the calendar."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from coordination.duty.models import Shift
from coordination.duty.services import roster_ensure, shift_create
from coordination.models import AuditEntry, BodyMembership, CoordinationBody
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


@pytest.fixture
def on_now(sz_roster, sz_people):
    now = timezone.now()
    return shift_create(actor=None, roster=sz_roster, starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=11), primary="duty-a", backups=["duty-b"])


def test_who_sees_a_jurisdictions_roster(sz_roster, on_now, api_as):
    url = f"/api/v1/rosters/{sz_roster.pk}/on-duty/"
    for allowed in (api_as(SHENZHEN, role="viewer"), api_as(SHENZHEN, scopes=["read"]),
                    api_as(DONGGUAN, role="coordinator")):
        listed = allowed.get("/api/v1/rosters/").json()["results"]
        assert [r["jurisdiction"] for r in listed] == [SHENZHEN]
        answer = allowed.get(url)
        assert answer.status_code == 200
        body = answer.json()
        assert body["time_zone"] == "Asia/Shanghai"
        # Names only: no e-mail address of an officer leaves through this endpoint.
        assert body["on_duty"] == [
            {"position": 0, "username": "duty-a", "name": "duty-a", "stands_in_for": None},
            {"position": 1, "username": "duty-b", "name": "duty-b", "stands_in_for": None}]
        assert "sz.example" not in answer.content.decode().lower()
    stranger = api_as(DONGGUAN, role="commander")
    assert stranger.get("/api/v1/rosters/").json()["results"] == []
    for path in (f"/api/v1/rosters/{sz_roster.pk}/", url, f"/api/v1/rosters/{sz_roster.pk}/shifts/",
                 f"/api/v1/rosters/{sz_roster.pk}/calendar.ics"):
        problem(stranger.get(path), 404)


def test_on_duty_at_a_given_time_and_bad_times(sz_roster, on_now, api_as):
    viewer = api_as(SHENZHEN, role="viewer")
    later = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    answer = viewer.get(f"/api/v1/rosters/{sz_roster.pk}/on-duty/", {"at": later})
    assert answer.status_code == 200 and answer.json()["on_duty"] == []
    assert "at" in problem(viewer.get(f"/api/v1/rosters/{sz_roster.pk}/on-duty/", {"at": "tomorrow"}), 400)["errors"]


def test_a_bodys_roster_is_seen_by_its_officers(gba, api_as, credentials, make_officer):
    body = CoordinationBody.objects.filter(cluster_id="GBA").first()
    roster, _ = roster_ensure(actor=None, body=body)
    seated = api_as(DONGGUAN, role="operator")
    BodyMembership.objects.create(user_id=AuditEntry.objects.filter(action="officer.created").latest("id").object_id,
                                  body=body)
    assert [r["body"] for r in seated.get("/api/v1/rosters/").json()["results"]] == [body.code]
    problem(api_as(DONGGUAN, role="commander").get(f"/api/v1/rosters/{roster.pk}/on-duty/"), 404)


def test_writing_shifts_and_overrides(sz_roster, sz_people, api_as):
    start = datetime(2026, 3, 1, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
    shift = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=12)).isoformat(),
             "primary": "duty-a", "backups": ["duty-c", "duty-b"]}
    url = f"/api/v1/rosters/{sz_roster.pk}/shifts/"
    problem(api_as(SHENZHEN, role="operator").post(url, shift, format="json"), 403)
    problem(api_as(SHENZHEN).post(url, shift, format="json"), 403)  # no client scope writes rosters
    problem(api_as(DONGGUAN, role="commander").post(url, shift, format="json"), 404)  # does not see it
    commander = api_as(SHENZHEN, role="commander")
    assert "colour" in problem(commander.post(url, {**shift, "colour": "red"}, format="json"), 400)["errors"]
    assert "backups" in problem(commander.post(url, {**shift, "backups": ["nobody"]}, format="json"), 400)["errors"]
    created = commander.post(url, shift, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert [p["username"] for p in body["backups"]] == ["duty-c", "duty-b"]
    entry = AuditEntry.objects.filter(action="roster.shift_created").latest("id")
    assert (entry.object_jurisdiction, entry.detail["uid"]) == (SHENZHEN, body["uid"])
    overlap = problem(commander.post(url, {**shift, "primary": "duty-d", "backups": []}, format="json"), 409)
    # In the default language (zh-hans), or the one the caller asks for.
    assert body["uid"] in overlap["overlapping"] and "同一值班表的班次不能重叠" in overlap["detail"]
    english = commander.post(url, {**shift, "primary": "duty-d", "backups": []}, format="json",
                             HTTP_ACCEPT_LANGUAGE="en")
    assert "Shifts of one roster do not overlap" in problem(english, 409)["detail"]
    assert [s["uid"] for s in commander.get(url).json()["results"]] == [body["uid"]]

    override = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
                "replaced": "duty-a", "substitute": "duty-d", "note": "sick"}
    coordinator = api_as(DONGGUAN, role="coordinator")
    made = coordinator.post(f"/api/v1/rosters/{sz_roster.pk}/overrides/", override, format="json")
    assert made.status_code == 201, made.content
    assert AuditEntry.objects.filter(action="roster.override_created", actor_jurisdiction=DONGGUAN).count() == 1
    at = (start + timedelta(hours=1)).isoformat()
    on = coordinator.get(f"/api/v1/rosters/{sz_roster.pk}/on-duty/", {"at": at}).json()["on_duty"]
    assert [(p["username"], p["stands_in_for"]) for p in on] == [("duty-d", "duty-a"), ("duty-c", None),
                                                                 ("duty-b", None)]


def test_calendar_export_and_import(sz_roster, on_now, api_as, settings):
    url = f"/api/v1/rosters/{sz_roster.pk}/calendar.ics"
    problem(api_as(SHENZHEN, role="viewer").get(url), 403)  # it carries e-mail addresses
    commander = api_as(SHENZHEN, role="commander")
    exported = commander.get(url)
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/calendar")
    assert b"ATTENDEE;CN=duty-a;CUTYPE=INDIVIDUAL;ROLE=CHAIR:mailto:duty.a@sz.example" in exported.content
    assert AuditEntry.objects.filter(action="roster.exported", object_id=str(sz_roster.pk)).count() == 1

    again = commander.post(url, exported.content, content_type="text/calendar")
    assert again.status_code == 200, again.content
    assert again.json() == {"created": [], "updated": [], "unchanged": 1}
    outlook = commander.post(url, (DATA / "outlook-night-duty.ics").read_bytes(), content_type="text/calendar")
    assert outlook.status_code == 200 and len(outlook.json()["created"]) == 1
    assert AuditEntry.objects.filter(action="roster.imported").count() == 2

    problem(api_as(SHENZHEN, role="operator").post(url, exported.content, content_type="text/calendar"), 403)
    bad = problem(commander.post(url, b"BEGIN:VCALENDAR\r\nnot:\x00really", content_type="text/calendar"), 400)
    assert "calendar" in bad["errors"]
    problem(commander.post(url, b"{}", content_type="application/json"), 415)
    settings.MAX_BODY_BYTES = 1024
    problem(commander.post(url, exported.content + b"\r\n" * 1024, content_type="text/calendar"), 413)
    assert Shift.objects.filter(roster=sz_roster).count() == 2
