"""A duty roster as iCalendar (RFC 5545), both ways, with the `icalendar` library (docs/rosters.md).

Export: one VEVENT per shift; its UID is the shift's, DTSTART and DTEND in the cluster's time zone
(TZID, with its VTIMEZONE), the primary an ATTENDEE with ROLE=CHAIR, the backups in order with
ROLE=REQ-PARTICIPANT, each by e-mail address (selectors.mail_address).

Import reads the same, or what another calendar tool writes: the primary is the ATTENDEE with
ROLE=CHAIR, else the first ATTENDEE; the others are the backups in the order they appear
(NON-PARTICIPANT ones aside). A time without a zone, and an all-day date, are read in the
cluster's zone. An event with an RRULE is expanded over the next ROSTER_RRULE_DAYS days with
python-dateutil (icalendar's own dependency), EXDATE taken out and each RECURRENCE-ID event in
place of its occurrence; each occurrence is a shift of UID `<UID>#<its start in UTC>`, so a
second import of the same file finds it again. Events with STATUS:CANCELLED are skipped.
Importing is idempotent by UID: a shift of the same UID is updated, one equal to it is left
alone, shifts the file does not name stay. Everything is checked before anything is written; the
first problem refuses the whole file.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from dateutil import rrule
from django.conf import settings
from django.db import transaction
from django.utils import timezone as django_timezone
from django.utils.translation import gettext

from config.errors import PayloadTooLarge, ValidationFailed
from coordination.audit import audit_record
from coordination.duty import services
from coordination.duty.models import Roster
from coordination.duty.selectors import (
    USERNAME_MAIL_DOMAIN,
    display_name,
    eligible_users,
    mail_address,
    owner_label,
    roster_zone,
    shifts_of,
)
from coordination.principals import Principal

PRODID = "-//Liandong//Duty roster//EN"
EXPORT_PAST = timedelta(days=30)  # an export holds the shifts that ended in the last 30 days, and later
MAX_IMPORT_SHIFTS = 2000
ROSTER_RRULE_DAYS = 90
MAX_RRULE_STEPS = 50_000
MAX_UID_LENGTH = 200  # room for "#<start>" after it in an occurrence's UID (the column holds 255)
_SUB_DAILY = {"SECONDLY", "MINUTELY", "HOURLY"}


# --- export --------------------------------------------------------------------------------------


def _attendee(user, role: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{mail_address(user)}")
    address.params["CN"] = display_name(user)
    address.params["ROLE"] = role
    address.params["CUTYPE"] = "INDIVIDUAL"
    return address


def roster_calendar(*, actor: Principal | None, roster: Roster, now: datetime | None = None) -> bytes:
    """The roster as a VCALENDAR. It carries e-mail addresses, which are contact details: only
    those who manage the roster read it, and each export is audited."""
    services.require_manage(actor, roster)
    now = now or django_timezone.now()
    zone = roster_zone(roster)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", gettext("Duty roster: %(owner)s") % {"owner": owner_label(roster)})
    calendar.add("x-wr-timezone", zone.key)
    count = 0
    for shift in shifts_of(roster, after=now - EXPORT_PAST):
        event = icalendar.Event()
        event.add("uid", shift.uid)
        event.add("dtstamp", shift.updated_at.astimezone(UTC))
        event.add("dtstart", shift.starts_at.astimezone(zone))
        event.add("dtend", shift.ends_at.astimezone(zone))
        event.add("summary", gettext("On duty: %(name)s") % {"name": display_name(shift.primary)})
        if shift.note:
            event.add("description", shift.note)
        event.add("attendee", _attendee(shift.primary, "CHAIR"))
        for backup in shift.backups.all():
            event.add("attendee", _attendee(backup.user, "REQ-PARTICIPANT"))
        calendar.add_component(event)
        count += 1
    calendar.add_missing_timezones()
    with transaction.atomic():
        audit_record(actor=actor, action="roster.exported", object_type="roster", object_id=str(roster.pk),
                     object_jurisdiction=roster.jurisdiction_id or "", detail={"shifts": count})
    return calendar.to_ical()


# --- import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: int


@dataclass(frozen=True)
class _Event:
    uid: str
    starts_at: datetime
    ends_at: datetime
    addresses: tuple[str, ...]  # primary first
    note: str


def _refuse(message: str, uid: str = "") -> ValidationFailed:
    if uid:
        message = gettext("Event %(uid)s: %(problem)s") % {"uid": uid, "problem": message}
    return ValidationFailed.on("calendar", message)


def _moment(value, zone, uid: str) -> datetime:
    """DTSTART/DTEND/RECURRENCE-ID/EXDATE as an aware datetime: a floating time and an all-day
    date are read in the cluster's zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone)
    raise _refuse(gettext("a start or end that is not a date or a time."), uid)


def _decoded(event, name: str, zone, uid: str) -> datetime | None:
    if name not in event:
        return None
    try:
        value = event.decoded(name)
    except (ValueError, TypeError, KeyError) as exc:
        raise _refuse(gettext("%(name)s cannot be read.") % {"name": name}, uid) from exc
    return _moment(value, zone, uid)


def _addresses(event) -> tuple[str, ...]:
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    chairs, others = [], []
    for attendee in attendees:
        params = getattr(attendee, "params", {})
        role = str(params.get("ROLE", "REQ-PARTICIPANT")).upper()
        if role == "NON-PARTICIPANT":
            continue
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:"):]
        (chairs if role == "CHAIR" else others).append(address.strip().lower())
    return tuple(dict.fromkeys([*chairs, *others]))


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _parse(document: bytes, zone, now: datetime) -> list[_Event]:
    try:
        calendar = icalendar.Calendar.from_ical(document)
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises on hostile bytes is bad input, not a 500
        raise _refuse(gettext("not an iCalendar document (%(reason)s).") % {"reason": str(exc)[:200]}) from exc
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise _refuse(gettext("not an iCalendar document (no VCALENDAR)."))
    window_end = now + timedelta(days=ROSTER_RRULE_DAYS)
    events: dict[str, _Event] = {}
    replaced: dict[str, _Event | None] = {}  # RECURRENCE-ID instances (None: cancelled)
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if not uid:
            raise _refuse(gettext("an event without a UID."))
        if len(uid) > MAX_UID_LENGTH:
            raise _refuse(gettext("a UID longer than %(n)s characters.") % {"n": MAX_UID_LENGTH})
        cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
        starts_at = _decoded(event, "DTSTART", zone, uid)
        if starts_at is None:
            raise _refuse(gettext("no DTSTART."), uid)
        ends_at = _decoded(event, "DTEND", zone, uid)
        if ends_at is None:
            duration = event.decoded("DURATION") if "DURATION" in event else None
            if not isinstance(duration, timedelta):
                raise _refuse(gettext("neither DTEND nor DURATION."), uid)
            ends_at = starts_at + duration
        found = _Event(uid=uid, starts_at=starts_at, ends_at=ends_at, addresses=_addresses(event),
                       note=str(event.get("DESCRIPTION", "")).strip()[:200])
        recurrence_id = _decoded(event, "RECURRENCE-ID", zone, uid)
        if recurrence_id is not None:
            key = f"{uid}#{_utc_key(recurrence_id)}"
            replaced[key] = None if cancelled else _Event(key, found.starts_at, found.ends_at, found.addresses,
                                                          found.note)
            continue
        if cancelled:
            continue
        if "RRULE" in event:
            for occurrence in _expand(event, found, zone, now, window_end):
                events[occurrence.uid] = occurrence
        else:
            if uid in events:
                raise _refuse(gettext("two events with this UID."), uid)
            events[uid] = found
        if len(events) > MAX_IMPORT_SHIFTS:
            raise _refuse(gettext("more than %(n)s shifts in one file.") % {"n": MAX_IMPORT_SHIFTS})
    # An instance moved or cancelled takes the place of its occurrence; one whose occurrence is
    # not in the window (or not in the rule) is not a shift of the window either.
    for key, instance in replaced.items():
        if key not in events:
            continue
        if instance is None:
            del events[key]
        else:
            events[key] = instance
    return list(events.values())


def _expand(event, found: _Event, zone, now: datetime, window_end: datetime) -> list[_Event]:
    """The occurrences of a recurring event that are in force at some time between now and the
    end of the window."""
    rules = event.get("RRULE")
    if isinstance(rules, list):
        raise _refuse(gettext("more than one RRULE."), found.uid)
    if str(rules.get("FREQ", [""])[0]).upper() in _SUB_DAILY:
        raise _refuse(gettext("a recurrence more often than daily is not a duty roster."), found.uid)
    try:
        rule = rrule.rrulestr(rules.to_ical().decode(), dtstart=found.starts_at)
    except (ValueError, TypeError) as exc:
        raise _refuse(gettext("an RRULE that cannot be read."), found.uid) from exc
    excluded = set()
    exdates = event.get("EXDATE", [])
    for listed in exdates if isinstance(exdates, list) else [exdates]:
        for value in getattr(listed, "dts", []):
            excluded.add(_utc_key(_moment(value.dt, zone, found.uid)))
    length = found.ends_at - found.starts_at
    occurrences = []
    # Walked from DTSTART, counted: a rule of many instances a day from decades ago is refused
    # instead of keeping a worker busy.
    for steps, start in enumerate(rule):
        if steps > MAX_RRULE_STEPS:
            raise _refuse(gettext("an RRULE with too many occurrences before the window."), found.uid)
        if start >= window_end:
            break
        if start + length <= now:
            continue
        key = _utc_key(start)
        if key in excluded:
            continue
        occurrences.append(_Event(f"{found.uid}#{key}", start, start + length, found.addresses, found.note))
        if len(occurrences) > MAX_IMPORT_SHIFTS:
            raise _refuse(gettext("more than %(n)s shifts in one file.") % {"n": MAX_IMPORT_SHIFTS})
    return occurrences


def _people(roster: Roster, events: list[_Event]) -> dict[str, object]:
    """Address -> officer who may stand on the roster, for every address the events name."""
    by_address: dict[str, dict] = {}
    for user in eligible_users(roster):
        for address in {mail_address(user), f"{user.username}@{USERNAME_MAIL_DOMAIN}".lower()}:
            by_address.setdefault(address, {})[user.pk] = user
    found = {}
    for event in events:
        if not event.addresses:
            raise _refuse(gettext("no ATTENDEE: a shift needs a primary."), event.uid)
        for address in event.addresses:
            users = list(by_address.get(address, {}).values())
            if len(users) > 1:
                raise _refuse(gettext("%(address)s is the address of more than one officer.") % {"address": address},
                              event.uid)
            if not users:
                raise _refuse(services.not_eligible_message(roster, address), event.uid)
            found[address] = users[0]
    return found


def roster_import(*, actor: Principal | None, roster: Roster, document: bytes,
                  now: datetime | None = None) -> ImportResult:
    """Import a VCALENDAR into the roster (see the module's docstring for what is read)."""
    services.require_manage(actor, roster)
    limit = settings.MAX_BODY_BYTES
    if len(document) > limit:
        raise PayloadTooLarge(gettext("The calendar is larger than %(n)s bytes.") % {"n": limit})
    now = now or django_timezone.now()
    try:
        events = _parse(document, roster_zone(roster), now)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # A property of a shape the steps above did not expect (the parser keeps what it could
        # not read as text): bad input, said so, never a 500.
        raise _refuse(gettext("a property that cannot be read (%(reason)s).") % {"reason": str(exc)[:200]}) from exc
    people = _people(roster, events)
    specs = []
    for event in events:
        spec = services.ShiftSpec(uid=event.uid, starts_at=event.starts_at, ends_at=event.ends_at,
                                  primary=people[event.addresses[0]],
                                  backups=tuple(people[address] for address in event.addresses[1:]), note=event.note)
        try:
            services.check_span(spec.starts_at, spec.ends_at)
            services.check_people(spec)
        except ValidationFailed as exc:
            raise _refuse(next(iter(exc.errors.values()))[0], event.uid) from None
        specs.append(spec)
    with transaction.atomic():
        Roster.objects.select_for_update().get(pk=roster.pk)
        services.check_no_overlap(roster, specs)
        created, updated = services.apply_shifts(roster, specs)
        audit_record(actor=actor, action="roster.imported", object_type="roster", object_id=str(roster.pk),
                     object_jurisdiction=roster.jurisdiction_id or "",
                     detail={"created": created[:100], "updated": updated[:100], "events": len(specs)})
    return ImportResult(created=created, updated=updated, unchanged=len(specs) - len(created) - len(updated))
