"""Person by person: who of a jurisdiction is reached when, before its silence goes up the chain.

Layer 5 (docs/architecture.md, "Layers"; docs/notifications.md, "Person by person"). A request
to acknowledge reaches a jurisdiction's people in waves, all before its deadline (when the
jurisdiction-level chain of coordination.workflows.escalation starts): the roster's primary at
once, then each backup in the roster's order, then the bureau's head (its commanders not already
on duty). An acknowledgement cancels every row still queued (services.notifications_cancel), so
the waves after it are never sent; the rows' `not_before` are the waves: no task of their own.

Frozen like the rest of the chain: `frozen_people` is taken when a run starts
(workflows.escalation.freeze_chain) and kept on the run, so a roster edited during a run does
not change whom that run reaches, nor in which order.

The waits. The playbook's `person_waits[level]` (minutes between one wave and the next), scaled
by DEADLINE_SCALE like every other duration; without it, the deadline split evenly between the
waves (three waves and a 30-minute deadline: at 0, 10 and 20 minutes). A wait that would put
the last wave at or past the deadline is shortened to that even split, so every wave comes
before the chain above the jurisdiction starts.

Nobody holds a wave they cannot be reached in: a person with no usable contact method (none
active) is passed over at once, the next person taking their wave, and the incident's
timeline and its "who was reached" part say so (services.notify_for_acknowledgement,
note notify.no_contact).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from coordination.duty.selectors import on_duty
from coordination.models import Jurisdiction, Membership, Role

PRIMARY, BACKUP, HEAD, EVERYONE = "primary", "backup", "head", "everyone"


def frozen_people(codes, *, at: datetime) -> dict:
    """{code: {"duty": [[user id, position], …], "heads": [user id, …], "covered": bool}} for
    each jurisdiction: its people on duty at `at` (the primary first), and its commanders who
    are not among them. With no roster in force, `covered` is False and "duty" holds its
    commanders and operators, every one at rank 0 (no roster says who is first)."""
    codes = sorted(set(codes))
    officers: dict[str, dict[str, list[int]]] = {code: {Role.COMMANDER: [], Role.OPERATOR: []} for code in codes}
    for code, role, user_id in (Membership.objects
                                .filter(jurisdiction_id__in=codes, role__in=[Role.COMMANDER, Role.OPERATOR],
                                        user__is_active=True)
                                .order_by("user_id").values_list("jurisdiction_id", "role", "user_id")):
        officers[code][role].append(user_id)
    frozen = {}
    for owner in Jurisdiction.objects.filter(code__in=codes).order_by("code"):
        duty = [[person.user_id, person.position] for person in on_duty(owner, at)]
        if duty:
            on = {user_id for user_id, _ in duty}
            heads = [user_id for user_id in officers[owner.code][Role.COMMANDER] if user_id not in on]
            frozen[owner.code] = {"duty": duty, "heads": heads, "covered": True}
        else:
            everyone = sorted({*officers[owner.code][Role.COMMANDER], *officers[owner.code][Role.OPERATOR]})
            frozen[owner.code] = {"duty": [[user_id, 0] for user_id in everyone], "heads": [], "covered": False}
    return frozen


@dataclass(frozen=True)
class Wave:
    """One wave: who (with their rank), how long after the request (as it runs here), and the
    same in playbook minutes (what the timeline says)."""

    kind: str  # PRIMARY, BACKUP, HEAD, or EVERYONE (no roster: all at once)
    people: tuple[tuple[int, int], ...]  # (user id, rank)
    offset: timedelta
    minutes: int


def unreachable(people: dict, reachable) -> list[int]:
    """Those of a jurisdiction's frozen people (duty, then heads) with no usable contact method,
    in wave order: `waves` passes over them."""
    everyone = [int(user_id) for user_id, _ in people.get("duty", [])] + [int(u) for u in people.get("heads", [])]
    return [user_id for user_id in dict.fromkeys(everyone) if user_id not in reachable]


def waves(people: dict, *, requested_at: datetime, due_at: datetime, wait_minutes: int | None,
          reachable=None) -> list[Wave]:
    """The waves for one request, from a jurisdiction's frozen people (`frozen_people`). With
    `reachable` (the user ids that have a usable contact method), a person outside it holds no
    wave: the next one comes in their place, at their time (a primary with no contact method
    makes the first backup the one reached at once), and the deadline is split between the
    waves that reach someone."""
    duty = [(int(user_id), int(rank)) for user_id, rank in people.get("duty", [])]
    if reachable is not None:
        duty = [(user_id, rank) for user_id, rank in duty if user_id in reachable]
    if not people.get("covered", True):
        return [Wave(EVERYONE, tuple(duty), timedelta(0), 0)] if duty else []
    groups: list[tuple[str, tuple[tuple[int, int], ...]]] = []
    for user_id, rank in duty:
        groups.append((PRIMARY if rank == 0 and not groups else BACKUP, ((user_id, rank),)))
    # The rank of the head's wave follows the roster's (not the reachable people's) count.
    ranks = len(people.get("duty", []))
    heads = [int(user_id) for user_id in people.get("heads", []) if reachable is None or int(user_id) in reachable]
    if heads:
        groups.append((HEAD, tuple((user_id, ranks) for user_id in heads)))
    if not groups:
        return []
    scale = float(settings.DEADLINE_SCALE)
    window = max((due_at - requested_at).total_seconds(), 0.0)  # as it runs here
    even = window / len(groups)
    step = even if wait_minutes is None else min(wait_minutes * 60 * scale, even)
    return [Wave(kind, group, timedelta(seconds=step * index), round(step * index / scale / 60))
            for index, (kind, group) in enumerate(groups)]
