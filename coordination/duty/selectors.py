"""Reading duty rosters: who may see which, and who is on duty at a moment (docs/rosters.md).

`on_duty` is the one place the rule lives: the shift in force, its primary then its backups in
order, each replaced by whoever overrides them at that moment. The API's on-duty answer and
(later) person-level escalation read it; nothing else works it out again.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from config.errors import NotFound, ValidationFailed
from coordination.duty.models import Override, Roster, Shift
from coordination.models import BodyMembership, CoordinationBody, Jurisdiction, Membership
from coordination.principals import Principal, with_bodies
from coordination.registry import registry
from coordination.roles import Action

# The address a person without an e-mail address has in an exported calendar: the username
# under a reserved domain (RFC 2606 ".invalid": never delivered), so that import finds them again.
USERNAME_MAIL_DOMAIN = "users.liandong.invalid"


@dataclass(frozen=True)
class OnDuty:
    """One person on duty: `position` 0 is the primary, 1 the first backup, and so on.
    `stands_in_for` is the username of the person an override replaced, if any."""

    user_id: int
    username: str
    name: str
    position: int
    shift_uid: str
    stands_in_for: str | None = None


def display_name(user) -> str:
    return user.get_full_name() or user.username


def mail_address(user) -> str:
    """The calendar address of an officer: their e-mail, else the username-based address."""
    return (user.email or f"{user.username}@{USERNAME_MAIL_DOMAIN}").lower()


# --- owners, zones, visibility ---------------------------------------------------------------------


def roster_clusters(roster: Roster) -> frozenset[str]:
    if roster.jurisdiction_id:
        return registry().clusters_of.get(roster.jurisdiction_id, frozenset())
    return frozenset({roster.body.cluster_id})


def roster_zone(roster: Roster) -> zoneinfo.ZoneInfo:
    """The roster's cluster's time zone (the first by code when a jurisdiction is in several):
    shifts are shown and exported in it, and times without a zone are read in it."""
    clusters = sorted(roster_clusters(roster))
    return registry().zone(clusters[0] if clusters else None)


def owner_label(roster: Roster) -> str:
    if roster.jurisdiction_id:
        zh, en = registry().names.get(roster.jurisdiction_id, (roster.jurisdiction_id, roster.jurisdiction_id))
    else:
        zh, en = registry().bodies.get(roster.body_id, (roster.body_id, roster.body_id))
    return f"{zh} ({en})" if zh != en else zh


def rosters_visible_to(*, principal: Principal) -> QuerySet[Roster]:
    """A jurisdiction's roster: its own officers and systems, and the coordinators of its
    clusters. A body's roster: the officers seated on the body, and the coordinators of its
    cluster. Nobody else, whatever sharing agreements say: rosters name people."""
    principal = with_bodies(principal)
    seen = Q(jurisdiction_id=principal.jurisdiction) | Q(body_id__in=principal.bodies)
    if principal.is_coordinator:
        members = Jurisdiction.clusters.through.objects.filter(cluster_id__in=principal.clusters)
        seen |= Q(jurisdiction_id__in=members.values("jurisdiction_id")) | Q(body__cluster_id__in=principal.clusters)
    return Roster.objects.filter(seen).select_related("jurisdiction", "body")


def roster_get(*, principal: Principal, roster_id) -> Roster:
    try:
        return rosters_visible_to(principal=principal).get(pk=int(roster_id))
    except (Roster.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext("No such duty roster.")) from None


def may_manage(principal: Principal | None, roster: Roster) -> bool:
    """Who edits a roster (shifts, overrides, import) and reads its export (which carries
    e-mail addresses): a commander of the jurisdiction, an officer of that rank seated on the
    body, or a coordinator of the owner's cluster. None is the system (the demo, the admin)."""
    if principal is None:
        return True
    if not principal.can(Action.MANAGE_ROSTERS):
        return False
    if roster.jurisdiction_id and roster.jurisdiction_id == principal.jurisdiction:
        return True
    if roster.body_id and roster.body_id in with_bodies(principal).bodies:
        return True
    return principal.is_coordinator and bool(roster_clusters(roster) & set(principal.clusters))


# --- who may stand on a roster ---------------------------------------------------------------------


def eligible_users(roster: Roster) -> QuerySet:
    """Officers who may be on the roster: the jurisdiction's officers (Membership), or the
    officers seated on the body (BodyMembership)."""
    User = get_user_model()
    if roster.jurisdiction_id:
        ids = Membership.objects.filter(jurisdiction_id=roster.jurisdiction_id).values("user_id")
    else:
        ids = BodyMembership.objects.filter(body_id=roster.body_id).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True)


# --- who is on duty --------------------------------------------------------------------------------


def roster_of(owner: Jurisdiction | CoordinationBody | Roster) -> Roster | None:
    if isinstance(owner, Roster):
        return owner
    if isinstance(owner, Jurisdiction):
        return Roster.objects.filter(jurisdiction=owner).first()
    return Roster.objects.filter(body=owner).first()


def on_duty(owner: Jurisdiction | CoordinationBody | Roster, at: datetime) -> list[OnDuty]:
    """Who is on duty for the owner at `at`, in the order they are to be called: the primary,
    then the backups. An override in force at `at` puts its substitute in the replaced
    person's place (the newest override of a person wins; overrides do not chain); someone
    who would then appear twice keeps the earlier place. No shift in force: nobody."""
    if at.tzinfo is None:
        raise ValidationFailed.on("at", gettext("A time with its UTC offset."))
    roster = roster_of(owner)
    if roster is None:
        return []
    shift = (Shift.objects.filter(roster=roster, starts_at__lte=at, ends_at__gt=at)
             .select_related("primary").prefetch_related("backups__user").first())
    if shift is None:
        return []
    overrides = {}
    for override in (Override.objects.filter(roster=roster, starts_at__lte=at, ends_at__gt=at)
                     .select_related("substitute").order_by("created_at", "id")):
        overrides[override.replaced_id] = override  # the newest wins
    people = [shift.primary, *(backup.user for backup in shift.backups.all())]
    result: list[OnDuty] = []
    seen: set[int] = set()
    for person in people:
        override = overrides.get(person.pk)
        actual = override.substitute if override else person
        if actual.pk in seen:
            continue
        seen.add(actual.pk)
        result.append(OnDuty(user_id=actual.pk, username=actual.username, name=display_name(actual),
                             position=len(result), shift_uid=shift.uid,
                             stands_in_for=person.username if override else None))
    return result


def shifts_of(roster: Roster, *, after: datetime | None = None, before: datetime | None = None) -> QuerySet[Shift]:
    """The roster's shifts that end after `after` and start before `before`, in order."""
    shifts = Shift.objects.filter(roster=roster).select_related("primary").prefetch_related("backups__user")
    if after is not None:
        shifts = shifts.filter(ends_at__gt=after)
    if before is not None:
        shifts = shifts.filter(starts_at__lt=before)
    return shifts.order_by("starts_at")


def overrides_of(roster: Roster, *, after: datetime | None = None) -> QuerySet[Override]:
    overrides = Override.objects.filter(roster=roster).select_related("replaced", "substitute")
    if after is not None:
        overrides = overrides.filter(ends_at__gt=after)
    return overrides.order_by("starts_at", "id")


def on_duty_boards(*, principal: Principal, at: datetime) -> list[tuple[Roster, list[OnDuty]]]:
    """Who is on duty at `at` on the rosters closest to the principal: its own jurisdiction's
    and those of the bodies it sits on (the dashboard's card). Coordinators read the others
    through the API: a card for every roster of the cluster would bury the page."""
    principal = with_bodies(principal)
    rosters = (Roster.objects.filter(Q(jurisdiction_id=principal.jurisdiction) | Q(body_id__in=principal.bodies))
               .select_related("jurisdiction", "body").order_by("body_id", "id"))
    return [(roster, on_duty(roster, at)) for roster in rosters]
