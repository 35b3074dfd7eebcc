"""Reads of incidents, with the visibility rule (sharing.visibility) applied on every path.

Lists filter with `visible_q`, single incidents are judged with `decide`; what the caller may
not see is a 404, and the fields withheld from it are removed. A read of another
jurisdiction's incident is audited (one entry per request, naming the incidents).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from config.errors import NotFound
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal, with_bodies
from incidents.models import AffectedJurisdiction, Incident, SituationReport, TimelineEntry
from incidents.payloads import cluster_zone, incident_data, sitrep_data
from sharing.models import DataKind
from sharing.visibility import (
    Decision,
    Facts,
    Viewer,
    addressed,
    addressed_q,
    bodies_addressed,
    decide,
    redact,
    sharing_context,
    visible_q,
)


def incident_facts(incident: Incident, *, affected: Iterable[str], data_kind: str = DataKind.INCIDENTS,
                   bodies: frozenset[str] = frozenset()) -> Facts:
    """What the visibility rule needs to know about an incident (or its situation reports);
    `bodies`: the coordination bodies it is addressed to that matter to the viewer."""
    return Facts(
        data_kind=data_kind,
        owner=incident.reporting_jurisdiction_id,
        cluster=incident.cluster_id or "",
        jurisdictions=frozenset(affected),
        level=incident.level,
        category=incident.category,
        bodies=bodies,
    )


def affecting(code: str) -> Exists:
    """Incidents whose affected jurisdictions include `code` (an indexed lookup)."""
    return Exists(AffectedJurisdiction.objects.filter(incident=OuterRef("pk"), jurisdiction_id=code))


@dataclass(frozen=True)
class Affected:
    codes: list[str]
    manual: list[str]


def affected_of(incidents: Sequence[Incident]) -> dict[int, Affected]:
    """The affected jurisdictions of several incidents, in one query. (Plain rows: a
    prefetch_related builds a queryset per incident, which cost more than the page itself.)"""
    codes: dict[int, list[str]] = {incident.pk: [] for incident in incidents}
    manual: dict[int, list[str]] = {incident.pk: [] for incident in incidents}
    rows = AffectedJurisdiction.objects.filter(incident_id__in=list(codes)).values_list(
        "incident_id", "jurisdiction_id", "added_manually"
    )
    for incident_id, code, added_manually in rows:
        codes[incident_id].append(code)
        if added_manually:
            manual[incident_id].append(code)
    return {pk: Affected(sorted(codes[pk]), sorted(manual[pk])) for pk in codes}


def incident_list_visible_to(*, principal: Principal) -> QuerySet[Incident]:
    """Every incident the principal may see, oldest change first (the sync order). An officer
    seated on a coordination body also sees the incidents addressed to the body (an escalation
    to the cluster committee: sharing.visibility.addressed_q), as the incident's page does."""
    viewer = Viewer.of(with_bodies(principal))
    concerned = affecting(viewer.jurisdiction)
    if viewer.bodies:
        concerned |= addressed_q(viewer, "public_id")
    visible = visible_q(
        viewer, DataKind.INCIDENTS, owner="reporting_jurisdiction", concerned=concerned,
        level="level", category="category",
    )
    return Incident.objects.filter(visible).order_by("updated_at", "id")


def incidents_read_by(*, principal: Principal, incidents: Sequence[Incident]) -> list[dict]:
    """A page of visible incidents as the principal may have them (withheld fields removed);
    the ones owned by other jurisdictions are audited as read, in one entry."""
    viewer, ctx = Viewer.of(with_bodies(principal)), sharing_context()
    now = timezone.now()
    affected = affected_of(incidents)
    # A body's officer: the page's incidents addressed to its bodies, in one query.
    to_bodies = bodies_addressed([i.public_id for i in incidents], among=viewer.bodies) if viewer.bodies else {}
    decisions: dict[Facts, Decision] = {}  # a page repeats the same facts often; the rule is pure
    items, others = [], []
    for incident in incidents:
        codes, manual = affected[incident.pk].codes, affected[incident.pk].manual
        facts = incident_facts(incident, affected=codes, bodies=to_bodies.get(incident.public_id, frozenset()))
        if facts not in decisions:
            decisions[facts] = decide(viewer, facts, ctx=ctx, now=now)
        decision = decisions[facts]
        if not decision:
            continue  # the filter and the rule are one grant list; this only guards a race with an edit
        items.append(redact(incident_data(incident, affected=codes, manual=manual), decision.withheld))
        if incident.reporting_jurisdiction_id != principal.jurisdiction:
            others.append(incident.public_id)
    _audit_read(principal, action="incident.listed", ids=others)
    return items


@dataclass(frozen=True)
class Seen:
    incident: Incident
    affected: list[str]
    manual: list[str]
    decision: Decision


def _seen(principal: Principal, public_id: str, *, data_kind: str = DataKind.INCIDENTS) -> Seen:
    incident = Incident.objects.filter(public_id=public_id).first()
    if incident is None:
        raise NotFound("No such incident.")
    affected = affected_of([incident])[incident.pk]
    # An officer seated on a coordination body sees an incident escalated to the body
    # (sharing.visibility.addressed).
    viewer = Viewer.of(with_bodies(principal))
    facts = addressed(viewer, incident_facts(incident, affected=affected.codes, data_kind=data_kind),
                      subject=incident.public_id)
    decision = decide(viewer, facts)
    if not decision:
        raise NotFound("No such incident.")
    return Seen(incident, affected.codes, affected.manual, decision)


def incident_read_by(*, principal: Principal, public_id: str) -> tuple[Incident, dict]:
    seen = _seen(principal, public_id)
    _audit_read(principal, action="incident.viewed", ids=_others(principal, [seen.incident]),
                owner=seen.incident.reporting_jurisdiction_id)
    data = incident_data(seen.incident, affected=seen.affected, manual=seen.manual)
    return seen.incident, redact(data, seen.decision.withheld)


def incident_timeline_read_by(*, principal: Principal, public_id: str) -> tuple[Incident, QuerySet[TimelineEntry]]:
    """The timeline of a visible incident, in order (its report, updates, status changes)."""
    seen = _seen(principal, public_id)
    _audit_read(principal, action="incident.timeline_viewed", ids=_others(principal, [seen.incident]),
                owner=seen.incident.reporting_jurisdiction_id)
    return seen.incident, seen.incident.timeline.order_by("at", "id")


def sitreps_read_by(*, principal: Principal, public_id: str) -> tuple[Incident, QuerySet[SituationReport]]:
    seen = _seen(principal, public_id, data_kind=DataKind.SITREPS)
    _audit_read(principal, action="sitrep.viewed", ids=_others(principal, [seen.incident]),
                owner=seen.incident.reporting_jurisdiction_id)
    return seen.incident, seen.incident.sitreps.order_by("period_start", "jurisdiction_id", "id")


def joint_sitrep_read_by(*, principal: Principal, public_id: str) -> dict:
    """The joint situation report: the latest report of every affected jurisdiction, summed,
    and the affected jurisdictions that have not reported. Drill reports on a real incident
    stay out of its figures (an exercise incident counts its own)."""
    seen = _seen(principal, public_id, data_kind=DataKind.SITREPS)
    incident = seen.incident
    _audit_read(principal, action="sitrep.viewed", ids=_others(principal, [incident]),
                owner=incident.reporting_jurisdiction_id)
    latest: dict[str, SituationReport] = {}
    excluded = 0
    for report in incident.sitreps.order_by("jurisdiction_id", "-period_end", "-updated_at", "-id"):
        if report.exercise and not incident.exercise:
            excluded += 1
        elif report.jurisdiction_id in seen.affected and report.jurisdiction_id not in latest:
            latest[report.jurisdiction_id] = report
    counted = [latest[code] for code in sorted(latest)]
    return {
        "incident": incident.public_id,
        "title": incident.title,
        "category": incident.category,
        "type": incident.type,
        "level": incident.level,
        "status": incident.status,
        "exercise": incident.exercise,
        "as_of": timezone.now().astimezone(cluster_zone(incident.cluster_id)).isoformat(),
        "affected_jurisdictions": seen.affected,
        "reported": sorted(latest),
        "missing": [code for code in seen.affected if code not in latest],
        "totals": {name: sum(getattr(report, name) for report in counted) for name in SituationReport.FIGURES},
        "reports": [sitrep_data(report, incident=incident) for report in counted],
        "exercise_reports_excluded": excluded,
    }


def joint_sitrep_printable(*, principal: Principal, public_id: str) -> dict:
    """The joint situation report with the jurisdictions' names, for the printable page."""
    report = joint_sitrep_read_by(principal=principal, public_id=public_id)
    names = jurisdiction_names(report["affected_jurisdictions"])
    return {
        **report,
        "reports": [{**item, "names": names.get(item["jurisdiction"])} for item in report["reports"]],
        "missing": [{"code": code, "names": names.get(code)} for code in report["missing"]],
    }


def jurisdiction_names(codes: Iterable[str]) -> dict[str, dict[str, str]]:
    return {
        code: {"zh": name_zh, "en": name_en}
        for code, name_zh, name_en in Jurisdiction.objects.filter(code__in=list(codes)).values_list(
            "code", "name_zh", "name_en"
        )
    }


def _others(principal: Principal, incidents: Iterable[Incident]) -> list[str]:
    return [i.public_id for i in incidents if i.reporting_jurisdiction_id != principal.jurisdiction]


def _audit_read(principal: Principal, *, action: str, ids: list[str], owner: str = "") -> None:
    """Reads across a border leave a trace (who read which incidents); one's own do not."""
    if not ids:
        return
    audit_record(
        actor=principal, action=action, object_type="incident", object_id=ids[0] if len(ids) == 1 else "",
        object_jurisdiction=owner, detail={"ids": ids},
    )
