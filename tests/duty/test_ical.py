"""iCalendar both ways: our export read back equal, and files other calendar tools write."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from config.errors import Conflict, PayloadTooLarge, ValidationFailed
from coordination.duty.ical import roster_calendar, roster_import
from coordination.duty.models import Shift
from coordination.duty.selectors import on_duty
from coordination.duty.services import shift_create

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATA = Path(__file__).parent / "data"
BEFORE_MARCH = datetime(2026, 2, 27, tzinfo=SHANGHAI)  # "now" for the fixtures' shifts


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def snapshot(roster) -> list[tuple]:
    return [(s.uid, s.starts_at, s.ends_at, s.primary.username, [b.user.username for b in s.backups.all()], s.note)
            for s in Shift.objects.filter(roster=roster).order_by("starts_at")]


def test_export_then_import_gives_the_same_roster(sz_roster, sz_people):
    now = datetime.now(tz=SHANGHAI).replace(microsecond=0)
    shift_create(actor=None, roster=sz_roster, starts_at=now, ends_at=now + timedelta(hours=12), primary="duty-a",
                 backups=["duty-c", "duty-b"], note="白班, EOC")
    shift_create(actor=None, roster=sz_roster, starts_at=now + timedelta(hours=12), ends_at=now + timedelta(days=1),
                 primary="duty-d")
    before = snapshot(sz_roster)
    document = roster_calendar(actor=None, roster=sz_roster)

    calendar = icalendar.Calendar.from_ical(document)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    first = calendar.walk("VEVENT")[0]
    assert first["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert [(str(a), a.params["ROLE"]) for a in first["ATTENDEE"]] == [
        ("mailto:duty.a@sz.example", "CHAIR"), ("mailto:duty-c@users.liandong.invalid", "REQ-PARTICIPANT"),
        ("mailto:duty-b@users.liandong.invalid", "REQ-PARTICIPANT")]

    again = roster_import(actor=None, roster=sz_roster, document=document)
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)  # idempotent by UID
    Shift.objects.filter(roster=sz_roster).delete()
    result = roster_import(actor=None, roster=sz_roster, document=document)
    assert len(result.created) == 2
    assert snapshot(sz_roster) == before


def test_an_outlook_and_a_google_calendar(sz_roster, sz_people):
    outlook = roster_import(actor=None, roster=sz_roster, document=(DATA / "outlook-night-duty.ics").read_bytes(),
                            now=BEFORE_MARCH)
    assert len(outlook.created) == 1
    # No CHAIR: the first attendee is the primary; the room (NON-PARTICIPANT) is nobody.
    assert [p.username for p in on_duty(sz_roster, local(2026, 3, 1, 0, 30))] == ["duty-a", "duty-b"]
    night = Shift.objects.get(roster=sz_roster)
    assert (night.starts_at, night.ends_at, night.note) == (local(2026, 2, 28, 20), local(2026, 3, 1, 8),
                                                           "Night duty, Futian EOC")

    google = roster_import(actor=None, roster=sz_roster, document=(DATA / "google-day-shifts.ics").read_bytes(),
                           now=BEFORE_MARCH)
    # Ten days from 1 March, less the 3rd (EXDATE) and the 7th (cancelled); the 5th moved to 09:00.
    days = sorted(s.starts_at.astimezone(SHANGHAI) for s in Shift.objects.filter(uid__contains="#"))
    assert days == [local(2026, 3, d, 9 if d == 5 else 8) for d in (1, 2, 4, 5, 6, 8, 9, 10)]
    assert len(google.created) == 8
    assert [p.username for p in on_duty(sz_roster, local(2026, 3, 2, 12))] == ["duty-c", "duty-a"]
    assert [p.username for p in on_duty(sz_roster, local(2026, 3, 5, 12))] == ["duty-d"]
    assert on_duty(sz_roster, local(2026, 3, 3, 12)) == []
    again = roster_import(actor=None, roster=sz_roster, document=(DATA / "google-day-shifts.ics").read_bytes(),
                          now=BEFORE_MARCH)
    assert (again.created, again.updated, again.unchanged) == ([], [], 8)


def test_recurrence_is_expanded_over_the_next_90_days_only(sz_roster, sz_people):
    document = (DATA / "google-day-shifts.ics").read_bytes().replace(b"FREQ=DAILY;COUNT=10", b"FREQ=WEEKLY")
    result = roster_import(actor=None, roster=sz_roster, document=document, now=BEFORE_MARCH)
    starts = sorted(s.starts_at for s in Shift.objects.filter(roster=sz_roster))
    assert starts[0] == local(2026, 3, 1, 8) and starts[-1] < BEFORE_MARCH + timedelta(days=90)
    assert len(result.created) == 13  # weekly from 1 March to 27 May; none cancelled on those days


def _problem(document: bytes, roster, error=ValidationFailed):
    with pytest.raises(error) as refused:
        roster_import(actor=None, roster=roster, document=document, now=BEFORE_MARCH)
    assert Shift.objects.filter(roster=roster).count() == 0  # all or nothing
    return refused.value.detail


def test_what_is_refused(sz_roster, sz_people, make_officer, settings):
    outlook = (DATA / "outlook-night-duty.ics").read_bytes()
    assert "not an iCalendar document" in _problem(b"BEGIN:VCALENDAR\r\nthis is not\x00 ical", sz_roster)
    assert "not an iCalendar document" in _problem(b"<html>hello</html>", sz_roster)
    assert "not an officer of" in _problem(outlook.replace(b"duty.a@sz.example", b"stranger@sz.example"),
                                           sz_roster)
    make_officer("dg-officer", "441900")
    assert "not an officer of" in _problem(outlook.replace(b"duty-b@", b"dg-officer@"), sz_roster)
    assert "no DTSTART" in _problem(outlook.replace(b"DTSTART;", b"X-DTSTART;"), sz_roster)
    assert "more often than daily" in _problem(
        (DATA / "google-day-shifts.ics").read_bytes().replace(b"FREQ=DAILY", b"FREQ=MINUTELY"), sz_roster)
    twice = (DATA / "google-day-shifts.ics").read_bytes().replace(b"T200000\r\nRRULE", b"T200000\r\nRRULE").replace(
        b"DTEND;TZID=Asia/Shanghai:20260301T200000", b"DTEND;TZID=Asia/Shanghai:20260302T200000")
    assert "do not overlap" in _problem(twice, sz_roster, Conflict)  # each day's shift runs into the next
    settings.MAX_BODY_BYTES = 1024
    _problem(outlook + b" " * 1024, sz_roster, PayloadTooLarge)
