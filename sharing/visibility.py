"""The visibility rule (docs/api.md, "Visibility"): the one place that decides who sees what.

It works on plain facts (owner, concerned jurisdictions, cluster, level, category, data kind)
and imports no incident, so every path can ask it: list and detail (as a database filter,
`visible_q`), the event log, the stream and webhooks (`decide`, `audience`), CAP export and
the web UI. Both forms derive from one list of grants (`grants_for`), so they cannot disagree.

The rule:
- a jurisdiction sees its own data in full;
- it sees another jurisdiction's data when it is among the jurisdictions concerned
  (an incident's affected jurisdictions); an officer seated on a coordination body is
  concerned by what is addressed to the body (an escalation to the cluster committee);
- the cluster default (not a row, every cluster has it), for incidents and situation
  reports: levels I–II of any member to every member; level III to the owner's neighbours
  and to the core cities of the owner's cluster; level IV to no one else;
- a coordinator sees everything owned by members of its clusters;
- sharing agreements widen this per grantor, grantee, data kind, category and level;
- two kinds fix their audience themselves (sharing.models.PublicationKind): a public alert
  (CAP scope Public, status Actual) is incident data that is also for anyone, so every
  principal sees it, at least as a stranger does (the public feed's view); a draft (an alert
  not issued yet) is seen by its owner alone: not by the jurisdictions concerned, the cluster,
  its coordinators or any agreement.
Everyone but the owner gets the sensitive fields withheld, unless an agreement that grants
the data says otherwise (its `withheld_fields`). Withheld fields are removed, not blanked.
Data that refers to other data (a mutual-aid request to its incident: `Facts.about`) comes to
a viewer who may not see that other data without the fields taken from it (`about_fields`):
what a jurisdiction may not learn from the incident it does not learn from the request.
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from coordination.registry import Registry, registry
from coordination.registry import current as current_registry
from sharing.models import LEVEL_RANK, AddressedToBody, DataKind, PublicationKind, levels_at_least

# Personal data and contact numbers: payload keys (dotted for nested ones) a non-owner does
# not get unless an agreement shares them.
SENSITIVE_FIELDS = frozenset({"casualty_details", "contacts"})

# Data kinds the cluster default covers; resources and contacts cross a border by agreement only.
DEFAULT_KINDS = frozenset({DataKind.INCIDENTS, DataKind.SITREPS})
# Data for anyone, and the kind whose grants it also has (a public alert is incident data: an
# agreement that shares a grantor's incidents with their contacts shares its public alerts so).
PUBLIC_KINDS: dict[str, str] = {PublicationKind.PUBLIC_ALERTS: DataKind.INCIDENTS}
# Data its owner alone sees.
OWNER_ONLY_KINDS = frozenset({PublicationKind.DRAFTS})


@dataclass(frozen=True)
class Viewer:
    jurisdiction: str
    clusters: frozenset[str]
    is_coordinator: bool = False
    bodies: frozenset[str] = frozenset()  # coordination bodies the viewer acts for (principals.with_bodies)

    @classmethod
    def of(cls, principal) -> "Viewer":
        return cls(principal.jurisdiction, frozenset(principal.clusters), principal.is_coordinator,
                   frozenset(principal.bodies))


@dataclass(frozen=True)
class Facts:
    data_kind: str
    owner: str
    cluster: str = ""
    jurisdictions: frozenset[str] = frozenset()
    level: str = ""  # "" for data without a level (inventories); see _level_passes
    category: str = ""
    about: "Facts | None" = None  # the data this refers to (a request's incident), judged in turn
    about_fields: frozenset[str] = frozenset()  # the fields taken from it, withheld where it is hidden
    bodies: frozenset[str] = frozenset()  # coordination bodies it is addressed to (an escalation)


@dataclass(frozen=True)
class Grant:
    owners: frozenset[str] | None  # None: any owner (data for anyone)
    level_at_least: str | None  # None: any level
    categories: frozenset[str] | None  # None: any category
    withheld: frozenset[str]
    basis: str

    def covers(self, facts: Facts) -> bool:
        if self.owners is not None and facts.owner not in self.owners:
            return False
        if not _level_passes(facts.level, self.level_at_least):
            return False
        return self.categories is None or facts.category in self.categories


def _level_passes(level: str, at_least: str | None) -> bool:
    """Data without a level (inventories) passes only a grant that does not restrict by level
    ("at least IV" is every level): a level-based default never opens unlevelled data."""
    if at_least is None:
        return True
    if not level:
        return at_least == "IV"
    return LEVEL_RANK[level] <= LEVEL_RANK[at_least]


def _levels_passing(at_least: str) -> list[str]:
    """`_level_passes` as the list of stored level values that pass (for the filter form)."""
    return levels_at_least(at_least) + ([""] if at_least == "IV" else [])


@dataclass(frozen=True)
class Decision:
    visible: bool
    withheld: frozenset[str] = frozenset()
    basis: str = ""

    def __bool__(self):
        return self.visible


HIDDEN = Decision(False)

# What anyone gets of data for anyone: what the public feed gives a stranger.
PUBLIC_GRANT = Grant(None, None, None, SENSITIVE_FIELDS, "public")


@dataclass(frozen=True)
class AgreementFacts:
    id: str
    grantor: str
    grantees: frozenset[str]
    data_kinds: frozenset[str]
    categories: frozenset[str] | None
    level_at_least: str
    valid_from: datetime | None
    valid_until: datetime | None
    withheld: frozenset[str]

    def in_force(self, now: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= now) and (
            self.valid_until is None or now < self.valid_until
        )


@dataclass(frozen=True)
class SharingContext:
    """What the rule needs, shared by a process: the registry snapshot (coordination.registry)
    and the agreements in force. The registry facts the rule reads are the snapshot's own dicts
    under plain attributes (no copy; a plain attribute because `decide` reads them per viewer)."""

    registry: Registry
    agreements: tuple[AgreementFacts, ...]
    members: dict[str, frozenset[str]]  # cluster -> jurisdictions
    cores: dict[str, frozenset[str]]  # cluster -> core cities
    clusters_of: dict[str, frozenset[str]]
    neighbours: dict[str, frozenset[str]]
    jurisdictions: frozenset[str]  # every registered one, in a cluster or not

    @classmethod
    def of(cls, snapshot: Registry, agreements: tuple[AgreementFacts, ...] = ()) -> "SharingContext":
        return cls(snapshot, agreements, snapshot.members, snapshot.cores, snapshot.clusters_of,
                   snapshot.neighbours, snapshot.jurisdictions)


def _load_agreements() -> tuple[AgreementFacts, ...]:
    from sharing.models import SharingAgreement

    grantees: dict[str, set[str]] = {}
    for agreement_id, code in SharingAgreement.grantees.through.objects.values_list(
        "sharingagreement_id", "jurisdiction_id"
    ):
        grantees.setdefault(str(agreement_id), set()).add(code)
    return tuple(
        AgreementFacts(
            id=str(agreement.id),
            grantor=agreement.grantor_id,
            grantees=frozenset(grantees.get(str(agreement.id), ())),
            data_kinds=frozenset(agreement.data_kinds),
            categories=frozenset(agreement.categories) if agreement.categories else None,
            level_at_least=agreement.level_at_least,
            valid_from=agreement.valid_from,
            valid_until=agreement.valid_until,
            withheld=frozenset(agreement.withheld_fields),
        )
        for agreement in SharingAgreement.objects.filter(is_active=True)
    )


_VERSION_KEY = "sharing:context-version"
_lock = threading.Lock()
_state: dict = {"ctx": None, "version": None, "loaded": 0.0, "checked": 0.0}


def sharing_context() -> SharingContext:
    """This process's snapshot. Its agreements are reloaded when an agreement changes (a version
    kept in the shared cache, checked at most every SHARING_CONTEXT_CHECK_SECONDS) and at least
    every REGISTRY_CACHE_SECONDS; its registry is the registry snapshot, on that snapshot's
    rule (coordination.registry): a snapshot this one did not start from is taken at once."""
    now = time.monotonic()
    ctx = _state["ctx"]
    if (ctx is not None and now - _state["checked"] < settings.SHARING_CONTEXT_CHECK_SECONDS
            and ctx.registry is current_registry()):
        return ctx
    with _lock:
        snapshot = registry()
        version = cache.get(_VERSION_KEY, 0)
        stale = now - _state["loaded"] >= settings.REGISTRY_CACHE_SECONDS
        if _state["ctx"] is None or version != _state["version"] or stale:
            _state.update(ctx=SharingContext.of(snapshot, _load_agreements()), version=version, loaded=now)
        elif _state["ctx"].registry is not snapshot:
            _state["ctx"] = SharingContext.of(snapshot, _state["ctx"].agreements)
        _state["checked"] = now
        return _state["ctx"]


def sharing_changed() -> None:
    """Every process reloads its agreements (call after an agreement changes; a registry edit
    calls coordination.registry.registry_changed)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)
    reset_sharing_context()


def reset_sharing_context() -> None:
    with _lock:
        _state.update(ctx=None, version=None, loaded=0.0, checked=0.0)


def grants_for(viewer: Viewer, data_kind: str, *, ctx: SharingContext | None = None,
               now: datetime | None = None) -> list[Grant]:
    """Everything the viewer may see of others' data of one kind, beyond being concerned."""
    if data_kind in OWNER_ONLY_KINDS:
        return []
    if data_kind in PUBLIC_KINDS:
        return [*grants_for(viewer, PUBLIC_KINDS[data_kind], ctx=ctx, now=now), PUBLIC_GRANT]
    ctx = ctx or sharing_context()
    now = now or timezone.now()
    default_withheld = SENSITIVE_FIELDS
    grants: list[Grant] = []
    my_clusters = ctx.clusters_of.get(viewer.jurisdiction, viewer.clusters)
    cluster_members = frozenset().union(*(ctx.members.get(c, frozenset()) for c in my_clusters))
    if viewer.is_coordinator:
        grants.append(Grant(cluster_members, None, None, default_withheld, "coordinator"))
    if data_kind in DEFAULT_KINDS:
        grants.append(Grant(cluster_members, "II", None, default_withheld, "default:cluster"))
        neighbours = ctx.neighbours.get(viewer.jurisdiction, frozenset())
        if neighbours:
            grants.append(Grant(neighbours, "III", None, default_withheld, "default:neighbour"))
        for cluster in my_clusters:
            if viewer.jurisdiction in ctx.cores.get(cluster, frozenset()):
                grants.append(Grant(ctx.members.get(cluster, frozenset()), "III", None, default_withheld,
                                    "default:core"))
    for agreement in ctx.agreements:
        if (viewer.jurisdiction in agreement.grantees and data_kind in agreement.data_kinds
                and agreement.in_force(now)):
            grants.append(Grant(frozenset({agreement.grantor}), agreement.level_at_least, agreement.categories,
                                agreement.withheld, f"agreement:{agreement.id}"))
    return grants


def concerned(viewer: Viewer, facts: Facts) -> bool:
    """The viewer is among those the data concerns: its jurisdiction is, or it acts for a
    coordination body the data is addressed to (an officer seated on the cluster committee
    sees what was escalated to the committee, and the incident it is about, as a concerned
    jurisdiction does). `visible_q`'s callers write the same as their `concerned` condition."""
    return viewer.jurisdiction in facts.jurisdictions or bool(viewer.bodies & facts.bodies)


# Which coordination bodies an incident is addressed to: rows of sharing.models.AddressedToBody,
# which whoever addresses a body writes in its own transaction (the playbook engine, when an
# escalation reaches the cluster committee), in this layer, so the rule reads them directly and
# asks no layer above. Read only for a viewer seated on a body, and only for the viewer's own
# bodies (`concerned` compares no others): an officer seated on the cluster committee is
# concerned by an incident escalated to the committee, whatever its level (a level-IV incident
# is otherwise its owner's and the affected jurisdictions' alone).


def bodies_addressed(incidents: Iterable[str], *, among: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
    """The coordination bodies each incident (its public id) is addressed to, only those in
    `among` when it is given; incidents addressed to none are left out. One query (none when
    there is nothing to ask)."""
    incidents = sorted(set(incidents) - {""})
    wanted = None if among is None else sorted(set(among))
    if not incidents or wanted == []:
        return {}
    rows = AddressedToBody.objects.filter(incident__in=incidents)
    if wanted is not None:
        rows = rows.filter(body_id__in=wanted)
    found: dict[str, set[str]] = {}
    for incident, body in rows.values_list("incident", "body_id"):
        found.setdefault(incident, set()).add(body)
    return {incident: frozenset(bodies) for incident, bodies in found.items()}


def addressed(viewer: Viewer, facts: Facts, *, subject: str) -> Facts:
    """The facts of `subject` (an incident's public id) with the viewer's bodies it is addressed
    to, when the viewer acts for a body (one query then, none otherwise)."""
    if not viewer.bodies:
        return facts
    bodies = bodies_addressed([subject], among=viewer.bodies).get(subject)
    return replace(facts, bodies=facts.bodies | bodies) if bodies else facts


def addressed_q(viewer: Viewer, field: str) -> Q:
    """`addressed` as a filter, for `visible_q`'s `concerned`: rows whose `field` (an incident's
    public id) is addressed to a body the viewer acts for. Only for a viewer seated on a body."""
    return Q(**{f"{field}__in": AddressedToBody.objects.filter(body_id__in=sorted(viewer.bodies))
                .values("incident")})


def decide(viewer: Viewer, facts: Facts, *, ctx: SharingContext | None = None,
           now: datetime | None = None) -> Decision:
    if facts.owner == viewer.jurisdiction:
        return _referring(Decision(True, frozenset(), "own"), viewer, facts, ctx=ctx, now=now)
    matching = [grant for grant in grants_for(viewer, facts.data_kind, ctx=ctx, now=now) if grant.covers(facts)]
    if concerned(viewer, facts) and facts.data_kind not in OWNER_ONLY_KINDS:
        matching.append(Grant(frozenset({facts.owner}), None, None, SENSITIVE_FIELDS, "concerned"))
    if not matching:
        return HIDDEN
    # The most generous grant wins: a field is withheld only if every grant withholds it.
    withheld = frozenset.intersection(*(grant.withheld for grant in matching))
    basis = min(matching, key=lambda grant: len(grant.withheld)).basis
    return _referring(Decision(True, withheld, basis), viewer, facts, ctx=ctx, now=now)


def _referring(decision: Decision, viewer: Viewer, facts: Facts, *, ctx: SharingContext | None,
               now: datetime | None) -> Decision:
    """The decision on visible data, with the fields it takes from the data it refers to
    withheld when the viewer may not see that. The owner too: an offer is its offerer's, the
    incident it names is not."""
    if facts.about is None or not facts.about_fields or decide(viewer, facts.about, ctx=ctx, now=now):
        return decision
    return Decision(True, decision.withheld | facts.about_fields, decision.basis)


def visible_q(viewer: Viewer, data_kind: str, *, owner: str, concerned: Q, level: str | None = None,
              category: str | None = None, ctx: SharingContext | None = None, now: datetime | None = None) -> Q:
    """The same rule as `decide`, as a filter on a queryset.

    `owner`, `level` and `category` name the subject's fields; `concerned` is the caller's
    condition for "the viewer is among the jurisdictions concerned" (a join or a LIKE), or
    acts for a body the data is addressed to (`concerned`).
    """
    q = Q(**{owner: viewer.jurisdiction})
    if data_kind not in OWNER_ONLY_KINDS:
        q |= concerned
    for grant in grants_for(viewer, data_kind, ctx=ctx, now=now):
        # Any owner: a condition every row meets (an empty Q() would vanish from the OR).
        condition = (Q(**{f"{owner}__isnull": False}) if grant.owners is None
                     else Q(**{f"{owner}__in": sorted(grant.owners)}))
        # A subject without a level or category field (inventories) is judged as `decide`
        # judges data without them: a grant limited by level (but "at least IV") or by
        # category does not open it.
        if grant.level_at_least:
            if level:
                condition &= Q(**{f"{level}__in": _levels_passing(grant.level_at_least)})
            elif not _level_passes("", grant.level_at_least):
                continue
        if grant.categories is not None:
            if not category:
                continue
            condition &= Q(**{f"{category}__in": sorted(grant.categories)})
        q |= condition
    return q


@dataclass(frozen=True)
class AudienceGroup:
    """Jurisdictions that see an event the same way (same withheld fields)."""

    withheld: frozenset[str]
    jurisdictions: frozenset[str]
    coordinators_only: frozenset[str] = frozenset()  # seen by these only through their coordinators
    bodies: frozenset[str] = frozenset()  # coordination bodies whose seated officers see it so


def audience(facts: Facts, *, ctx: SharingContext | None = None, now: datetime | None = None) -> list[AudienceGroup]:
    """Who may see a piece of data, grouped by how: the stream's and webhooks' fan-out plan.

    Officers with the coordinator role see more than their jurisdiction's other callers, so
    a jurisdiction that sees the data only as coordinator appears in `coordinators_only`.
    """
    ctx = ctx or sharing_context()
    now = now or timezone.now()
    candidates = set(facts.jurisdictions) | {facts.owner}
    for cluster in ctx.clusters_of.get(facts.owner, frozenset({facts.cluster}) - {""}):
        candidates |= ctx.members.get(cluster, frozenset())
    for agreement in ctx.agreements:
        if agreement.grantor == facts.owner:
            candidates |= agreement.grantees
    groups: dict[frozenset[str], set[str]] = {}
    coordinator_groups: dict[frozenset[str], set[str]] = {}
    for code in sorted(candidates):
        clusters = ctx.clusters_of.get(code, frozenset())
        plain = decide(Viewer(code, clusters), facts, ctx=ctx, now=now)
        if plain:
            groups.setdefault(plain.withheld, set()).add(code)
            continue
        as_coordinator = decide(Viewer(code, clusters, True), facts, ctx=ctx, now=now)
        if as_coordinator:
            coordinator_groups.setdefault(as_coordinator.withheld, set()).add(code)
    if facts.data_kind in PUBLIC_KINDS:
        # Every other registered jurisdiction sees data for anyone by the public grant alone:
        # it is not the owner, not concerned, in none of the owner's clusters and no grantee
        # of its agreements, so the other grants it may have (a neighbour's default) withhold
        # no less. Deciding for each of them would give each this same answer.
        strangers = ctx.jurisdictions - candidates
        if strangers:
            groups.setdefault(PUBLIC_GRANT.withheld, set()).update(strangers)
    # What is addressed to a body (an escalation to the cluster committee) reaches the officers
    # seated on it, as those concerned see it, whatever their own jurisdiction sees.
    body_groups: dict[frozenset[str], set[str]] = {}
    for body in sorted(facts.bodies):
        as_body = decide(Viewer("", frozenset(), bodies=frozenset({body})), facts, ctx=ctx, now=now)
        if as_body:
            body_groups.setdefault(as_body.withheld, set()).add(body)
    keys = set(groups) | set(coordinator_groups) | set(body_groups)
    return [
        AudienceGroup(key, frozenset(groups.get(key, ())), frozenset(coordinator_groups.get(key, ())),
                      frozenset(body_groups.get(key, ())))
        for key in sorted(keys, key=sorted)
    ]


def redact(payload: dict, withheld: Iterable[str]) -> dict:
    """A copy of the payload without the withheld fields (dotted names reach into objects)."""
    withheld = list(withheld)
    if not withheld:
        return payload
    result = dict(payload)
    for name in withheld:
        head, _, rest = name.partition(".")
        if rest and isinstance(result.get(head), dict):
            result[head] = redact(result[head], [rest])
        elif not rest:
            result.pop(head, None)
    return result
