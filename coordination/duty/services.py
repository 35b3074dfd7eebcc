"""Writing duty rosters: rosters, shifts, overrides and swaps (docs/rosters.md).

Every write checks who may make it (selectors.may_manage), who may stand on the roster
(selectors.eligible_users) and that the roster's shifts do not overlap, under a lock on the
roster's row so that two writers cannot each pass the overlap check with shifts that overlap
each other; and writes one audit entry in the same transaction.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext

from config.errors import Conflict, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.duty.models import Override, Roster, Shift, ShiftBackup
from coordination.duty.selectors import eligible_users, may_manage, owner_label, roster_zone
from coordination.models import CoordinationBody, Jurisdiction
from coordination.principals import Principal

MAX_SHIFT = timedelta(days=31)  # longer is a typing mistake, not a shift
MAX_BACKUPS = 10


@dataclass(frozen=True)
class ShiftSpec:
    """A shift as asked for: its people by user (already resolved), its times aware."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    primary: object
    backups: tuple = ()
    note: str = ""


def require_manage(actor: Principal | None, roster: Roster) -> None:
    if not may_manage(actor, roster):
        raise PermissionDenied(gettext("Only the jurisdiction's commanders, the officers seated on the body and the "
                                       "cluster's coordinators edit this duty roster."))


def roster_ensure(*, actor: Principal | None, jurisdiction: Jurisdiction | None = None,
                  body: CoordinationBody | None = None, name: str = "") -> tuple[Roster, bool]:
    """The owner's roster, made if it has none. Returns it and whether it is new."""
    if (jurisdiction is None) == (body is None):
        raise ValidationFailed.on("owner", gettext("A roster belongs to a jurisdiction or to a coordination body."))
    owner = {"jurisdiction": jurisdiction} if jurisdiction is not None else {"body": body}
    existing = Roster.objects.filter(**owner).first()
    if existing is not None:
        return existing, False
    roster = Roster(name=name, **owner)
    require_manage(actor, roster)
    with transaction.atomic():
        roster.save()
        audit_record(actor=actor, action="roster.created", object_type="roster", object_id=str(roster.pk),
                     object_jurisdiction=roster.jurisdiction_id or "", detail={"owner": roster.owner_code})
    return roster, True


def resolve_people(roster: Roster, usernames: Iterable[str], field: str) -> dict[str, object]:
    """Username -> user for officers who may stand on the roster; ValidationFailed on `field`
    naming the first who may not."""
    wanted = list(dict.fromkeys(usernames))
    found = {user.username: user for user in eligible_users(roster).filter(username__in=wanted)}
    for username in wanted:
        if username not in found:
            raise ValidationFailed.on(field, not_eligible_message(roster, username))
    return found


def not_eligible_message(roster: Roster, who: str) -> str:
    if roster.jurisdiction_id:
        return gettext("%(who)s is not an officer of %(owner)s.") % {"who": who, "owner": owner_label(roster)}
    return gettext("%(who)s is not seated on %(owner)s.") % {"who": who, "owner": owner_label(roster)}


def whole_seconds(moment: datetime) -> datetime:
    """Roster times are whole seconds: iCalendar has no finer unit, and an export read back
    must give the same shift."""
    return moment.replace(microsecond=0)


def check_span(starts_at: datetime, ends_at: datetime, field: str = "ends_at") -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed.on(field, gettext("A time with its UTC offset."))
    if ends_at <= starts_at:
        raise ValidationFailed.on(field, gettext("The end comes after the start."))
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationFailed.on(field, gettext("At most %(days)s days.") % {"days": MAX_SHIFT.days})


def check_people(spec: ShiftSpec, field: str = "backups") -> None:
    if len(spec.backups) > MAX_BACKUPS:
        raise ValidationFailed.on(field, gettext("At most %(n)s backups.") % {"n": MAX_BACKUPS})
    ids = [spec.primary.pk, *(user.pk for user in spec.backups)]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.on(field, gettext("Each person stands once on a shift."))


def overlap_message(roster: Roster, first: ShiftSpec | Shift, second: ShiftSpec | Shift) -> str:
    zone = roster_zone(roster)

    def span(shift):
        return f"{shift.starts_at.astimezone(zone):%Y-%m-%d %H:%M}–{shift.ends_at.astimezone(zone):%Y-%m-%d %H:%M}"

    return gettext("Shifts of one roster do not overlap: %(first)s (%(first_uid)s) overlaps %(second)s "
                   "(%(second_uid)s).") % {"first": span(first), "first_uid": first.uid,
                                           "second": span(second), "second_uid": second.uid}


def check_no_overlap(roster: Roster, specs: Sequence[ShiftSpec]) -> None:
    """Conflict (409) unless the roster's shifts, with `specs` put in (a spec replaces the
    shift of the same uid), overlap nowhere. Call it holding the roster's lock."""
    by_uid: dict[str, ShiftSpec | Shift] = {shift.uid: shift for shift in Shift.objects.filter(roster=roster)}
    for spec in specs:
        by_uid[spec.uid] = spec
    ordered = sorted(by_uid.values(), key=lambda shift: (shift.starts_at, shift.ends_at))
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.starts_at < earlier.ends_at:
            message = overlap_message(roster, earlier, later)
            raise Conflict(message, errors={"starts_at": [message]}, overlapping=[earlier.uid, later.uid])


def _lock(roster: Roster) -> Roster:
    return Roster.objects.select_for_update().get(pk=roster.pk)


def apply_shifts(roster: Roster, specs: Sequence[ShiftSpec]) -> tuple[list[str], list[str]]:
    """Write the specs (create, or update the shift of the same uid); returns the uids created
    and updated (a spec equal to its shift changes nothing). Inside the caller's transaction,
    after check_no_overlap under the same lock."""
    existing = {shift.uid: shift for shift in Shift.objects.filter(roster=roster, uid__in=[s.uid for s in specs])
                .prefetch_related("backups")}
    created, updated = [], []
    for spec in specs:
        backup_ids = [user.pk for user in spec.backups]
        shift = existing.get(spec.uid)
        if shift is None:
            shift = Shift.objects.create(roster=roster, uid=spec.uid, starts_at=spec.starts_at, ends_at=spec.ends_at,
                                         primary=spec.primary, note=spec.note)
            created.append(spec.uid)
        else:
            same = (shift.starts_at == spec.starts_at and shift.ends_at == spec.ends_at
                    and shift.primary_id == spec.primary.pk and shift.note == spec.note
                    and [backup.user_id for backup in shift.backups.all()] == backup_ids)
            if same:
                continue
            shift.starts_at, shift.ends_at, shift.primary, shift.note = (spec.starts_at, spec.ends_at, spec.primary,
                                                                         spec.note)
            shift.save()
            shift.backups.all().delete()
            updated.append(spec.uid)
        ShiftBackup.objects.bulk_create([ShiftBackup(shift=shift, position=position, user_id=user_id)
                                         for position, user_id in enumerate(backup_ids, start=1)])
    return created, updated


def shift_create(*, actor: Principal | None, roster: Roster, starts_at: datetime, ends_at: datetime,
                 primary: str, backups: Sequence[str] = (), note: str = "") -> Shift:
    """A new shift: `primary` and `backups` are usernames of officers who may stand on it."""
    require_manage(actor, roster)
    starts_at, ends_at = whole_seconds(starts_at), whole_seconds(ends_at)
    check_span(starts_at, ends_at)
    people = resolve_people(roster, [primary], "primary")
    people |= resolve_people(roster, backups, "backups")
    spec = ShiftSpec(uid=f"{uuid.uuid4()}@liandong", starts_at=starts_at, ends_at=ends_at, primary=people[primary],
                     backups=tuple(people[name] for name in backups), note=(note or "").strip()[:200])
    check_people(spec)
    with transaction.atomic():
        _lock(roster)
        check_no_overlap(roster, [spec])
        apply_shifts(roster, [spec])
        shift = Shift.objects.get(roster=roster, uid=spec.uid)
        audit_record(actor=actor, action="roster.shift_created", object_type="roster", object_id=str(roster.pk),
                     object_jurisdiction=roster.jurisdiction_id or "",
                     detail={"uid": spec.uid, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                             "primary": primary, "backups": list(backups)})
    return shift


def override_create(*, actor: Principal | None, roster: Roster, starts_at: datetime, ends_at: datetime,
                    replaced: str, substitute: str, note: str = "",
                    reason: str = Override.Reason.OVERRIDE) -> Override:
    """`substitute` takes `replaced`'s place for the span (usernames). The substitute must be
    able to stand on the roster; the replaced person may have left it since."""
    require_manage(actor, roster)
    starts_at, ends_at = whole_seconds(starts_at), whole_seconds(ends_at)
    check_span(starts_at, ends_at)
    if replaced == substitute:
        raise ValidationFailed.on("substitute", gettext("Someone other than the person replaced."))
    person = resolve_people(roster, [substitute], "substitute")[substitute]
    replaced_user = get_user_model().objects.filter(username=replaced).first()
    if replaced_user is None:
        raise ValidationFailed.on("replaced", gettext("Unknown officer %(who)s.") % {"who": replaced})
    with transaction.atomic():
        _lock(roster)
        override = Override.objects.create(roster=roster, starts_at=starts_at, ends_at=ends_at, replaced=replaced_user,
                                           substitute=person, reason=reason, note=(note or "").strip()[:200])
        audit_record(actor=actor, action="roster.override_created", object_type="roster", object_id=str(roster.pk),
                     object_jurisdiction=roster.jurisdiction_id or "",
                     detail={"override": override.pk, "replaced": replaced, "substitute": substitute,
                             "reason": reason, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return override


def swap_record(*, actor: Principal | None, roster: Roster, first_shift: str, first: str, second_shift: str,
                second: str, note: str = "") -> tuple[Override, Override]:
    """`first` (on the shift of uid `first_shift`) and `second` (on `second_shift`) trade
    places: two overrides of reason "swap", written together or not at all."""
    require_manage(actor, roster)
    shifts = {shift.uid: shift for shift in Shift.objects.filter(roster=roster, uid__in=[first_shift, second_shift])
              .select_related("primary").prefetch_related("backups__user")}
    for field, uid, who in (("first_shift", first_shift, first), ("second_shift", second_shift, second)):
        shift = shifts.get(uid)
        if shift is None:
            raise ValidationFailed.on(field, gettext("No such shift on this roster."))
        standing = [shift.primary.username, *(backup.user.username for backup in shift.backups.all())]
        if who not in standing:
            raise ValidationFailed.on(field, gettext("%(who)s does not stand on this shift.") % {"who": who})
    with transaction.atomic():
        one = override_create(actor=actor, roster=roster, starts_at=shifts[first_shift].starts_at,
                              ends_at=shifts[first_shift].ends_at, replaced=first, substitute=second, note=note,
                              reason=Override.Reason.SWAP)
        other = override_create(actor=actor, roster=roster, starts_at=shifts[second_shift].starts_at,
                                ends_at=shifts[second_shift].ends_at, replaced=second, substitute=first, note=note,
                                reason=Override.Reason.SWAP)
    return one, other

