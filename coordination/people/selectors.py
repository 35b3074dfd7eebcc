"""Reading contact methods and policies (docs/people.md).

Two kinds of reader: the notification pipeline, which is the system reading (contact_methods_of,
notification_plans: no principal, no audit), and people (contacts_visible_to: the visibility rule
below, and an audit entry for every read of someone else's details).
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from config.errors import NotFound
from coordination.audit import audit_record
from coordination.authentication import clusters_of
from coordination.models import Membership, Role
from coordination.people.models import ContactMethod, NotificationPolicy
from coordination.principals import Principal
from coordination.registry import registry
from coordination.roles import ROLE_ORDER


@dataclass(frozen=True)
class PlanStep:
    """One channel of a notification plan: try `channel` at `address` (with `secret` for a
    signed robot) no earlier than `not_before_offset` after the plan's `at`."""

    channel: str
    contact_id: int
    address: str
    secret: str
    not_before_offset: timedelta


@dataclass(frozen=True)
class Policy:
    """An officer's policy as it applies: quiet hours (None for none) in `zone`."""

    quiet_start: time | None
    quiet_end: time | None
    zone: zoneinfo.ZoneInfo
    zone_is_default: bool


def jurisdiction_of(user) -> str | None:
    rows = Membership.objects.filter(user_id=getattr(user, "pk", user))
    return rows.values_list("jurisdiction_id", flat=True).first()


def default_zone(jurisdiction: str | None) -> zoneinfo.ZoneInfo:
    """The officer's cluster's time zone (the first cluster by code, as a roster's), else the
    service's."""
    clusters = clusters_of(jurisdiction) if jurisdiction else ()
    return registry().zone(clusters[0] if clusters else None)


def contact_methods_of(user) -> list[ContactMethod]:
    """The officer's active contact methods in the order they are tried. The pipeline's read:
    no principal and no audit (the system reads them to deliver what the officer is owed)."""
    rows = ContactMethod.objects.filter(officer_id=getattr(user, "pk", user), active=True)
    return list(rows.order_by("position", "id"))


def reachable_of(user_ids) -> set[int]:
    """Those of `user_ids` who have a usable contact method (an active one): the others cannot
    be reached outside this site (one query; the pipeline's read, no audit)."""
    return set(ContactMethod.objects.filter(officer_id__in=list(user_ids), active=True)
               .values_list("officer_id", flat=True).distinct())


def all_contact_methods_of(user) -> list[ContactMethod]:
    """Active or not, in order: what the officer sees of their own (their page, /me/)."""
    return list(ContactMethod.objects.filter(officer_id=getattr(user, "pk", user)).order_by("position", "id"))


def policy_of(user) -> Policy:
    row = NotificationPolicy.objects.filter(officer_id=getattr(user, "pk", user)).first()
    return _policy(row, lambda: jurisdiction_of(user))


def policies_of(user_ids) -> dict[int, Policy]:
    """policy_of for several officers, in two queries (their rows, their jurisdictions)."""
    ids = list(user_ids)
    rows = {row.officer_id: row for row in NotificationPolicy.objects.filter(officer_id__in=ids)}
    homes: dict[int, str] = {}
    for user_id, code in Membership.objects.filter(user_id__in=ids).values_list("user_id", "jurisdiction_id"):
        homes.setdefault(user_id, code)
    return {user_id: _policy(rows.get(user_id), lambda user_id=user_id: homes.get(user_id)) for user_id in ids}


def _policy(row: NotificationPolicy | None, jurisdiction) -> Policy:
    """The policy `row` says (None: the defaults); `jurisdiction()` names the officer's, read
    only when the zone is the cluster's."""
    if row is not None and row.time_zone:
        zone, is_default = zoneinfo.ZoneInfo(row.time_zone), False
    else:
        zone, is_default = default_zone(jurisdiction()), True
    start, end = (row.quiet_start, row.quiet_end) if row is not None else (None, None)
    if start == end:  # an empty span is no quiet hours (services refuse it; the admin may not)
        start = end = None
    return Policy(quiet_start=start, quiet_end=end, zone=zone, zone_is_default=is_default)


def language_of(user) -> str:
    """The language the officer chose for their messages ("zh-hans", "zh-hant", "en"), or "" for
    none (their jurisdiction's applies: coordination.notify.rendering.language_for). A user
    loaded with `select_related("notification_policy")` costs no query."""
    if user is None:
        return ""
    if hasattr(user, "pk"):
        try:
            return user.notification_policy.language
        except NotificationPolicy.DoesNotExist:
            return ""
    return NotificationPolicy.objects.filter(officer_id=user).values_list("language", flat=True).first() or ""


def languages_of(user_ids) -> dict[int, str]:
    """{user id: chosen language} for those of `user_ids` who chose one (one query)."""
    return dict(NotificationPolicy.objects.filter(officer_id__in=list(user_ids)).exclude(language="")
                .values_list("officer_id", "language"))


def quiet_until(policy: Policy, moment: datetime) -> datetime | None:
    """When the quiet hours `moment` falls in end (an aware time), or None when it is not in them.
    A span whose end is earlier than its start runs across midnight (22:00–07:00)."""
    if policy.quiet_start is None or policy.quiet_end is None:
        return None
    local = moment.astimezone(policy.zone)
    start, end, now = policy.quiet_start, policy.quiet_end, local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= now < end, local.date()
    else:
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    # Wall-clock arithmetic in the zone; fold=0 picks the first of a repeated local time.
    return datetime.combine(end_day, end, tzinfo=policy.zone)


def notification_plan(user, *, urgent: bool, at: datetime) -> list[PlanStep]:
    """When each of the officer's channels may be tried for a notification made at `at`: the
    first at once, each next one after the previous one's wait. Unless the notification is
    urgent, a step that would fall in the officer's quiet hours waits for their end, and the
    steps after it move with it (the chain pauses overnight, it does not skip channels)."""
    user_id = getattr(user, "pk", user)
    return notification_plans([user_id], urgent=urgent, at=at)[user_id]


def notification_plans(user_ids, *, urgent: bool, at: datetime) -> dict[int, list[PlanStep]]:
    """notification_plan for each of several officers ({user id: plan}), their contact methods
    read in one query and, when it is not urgent, their policies in two: a request to a
    thousand people costs the same few queries as one to a single person."""
    ids = [getattr(user, "pk", user) for user in user_ids]
    methods: dict[int, list] = defaultdict(list)
    # The columns a plan reads, not model instances: a request to a thousand people reads three
    # thousand methods (instances cost about 20 ms of the 230 ms of CPU of bench.notify's step).
    for method in (ContactMethod.objects.filter(officer_id__in=ids, active=True).order_by("position", "id")
                   .values_list("officer_id", "id", "channel", "address", "secret", "wait_minutes", named=True)):
        methods[method.officer_id].append(method)
    policies = policies_of(ids) if not urgent else {}
    return {user_id: _plan(methods[user_id], policies.get(user_id), at) for user_id in ids}


def _plan(methods: list, policy: Policy | None, at: datetime) -> list[PlanStep]:
    steps, moment = [], at
    for method in methods:
        if policy is not None:
            moment = quiet_until(policy, moment) or moment
        steps.append(PlanStep(channel=method.channel, contact_id=method.id, address=method.address,
                              secret=method.secret, not_before_offset=moment - at))
        moment = moment + timedelta(minutes=method.wait_minutes)
    return steps


# --- people reading people ----------------------------------------------------------------------


def may_see_contacts(principal: Principal, officer_id: int, officer_jurisdiction: str | None) -> bool:
    """The officer themself; a commander (or coordinator) of the officer's own jurisdiction; a
    coordinator of a cluster the officer's jurisdiction is in. Never anyone else, and never an
    API client: sharing agreements share incidents and resources, not people's phone numbers."""
    if principal.kind != "officer":
        return False
    if principal.user_id == officer_id:
        return True
    if officer_jurisdiction is None:
        return False
    if principal.jurisdiction == officer_jurisdiction and (
            ROLE_ORDER.index(Role(principal.role)) >= ROLE_ORDER.index(Role.COMMANDER)):
        return True
    return principal.is_coordinator and bool(set(principal.clusters) & set(clusters_of(officer_jurisdiction)))


def contacts_visible_to(*, principal: Principal, officer) -> list[ContactMethod]:
    """`officer`'s contact methods (a user or a user id), active or not, in order, for a person
    who may see them (may_see_contacts; NotFound for anyone else, as if the officer had none).
    A read of someone else's details is audited ("contacts.read"), one's own is not."""
    officer_id = getattr(officer, "pk", officer)
    user = get_user_model().objects.filter(pk=officer_id).first() if isinstance(officer_id, int) else None
    jurisdiction = jurisdiction_of(officer_id) if user is not None else None
    if user is None or not may_see_contacts(principal, officer_id, jurisdiction):
        raise NotFound("No such officer.")
    methods = all_contact_methods_of(officer_id)
    if principal.user_id != officer_id:
        with transaction.atomic():
            audit_record(actor=principal, action="contacts.read", object_type="user", object_id=str(officer_id),
                         object_jurisdiction=jurisdiction or "",
                         detail={"username": user.get_username(), "methods": len(methods)})
    return methods
