"""Reads of joint prevention and control, with the visibility rule applied in one place.

Runs, acknowledgements, escalations, joint commands and tasks belong to an incident: the rule
judges them by the incident's facts (owner: its reporting jurisdiction; level; category) with
the jurisdictions concerned being the incident's affected ones plus whoever the thing
addresses (notified, asked, escalated to, participating, assigned). A meeting is its
convener's, concerning its participants, at the most severe level on its agenda. Lists filter
with `visible_q`, single objects with `decide`: the same grants, so the two never disagree.

What can be addressed to a coordination body (an acknowledgement escalated to the cluster
committee, the escalation itself) also concerns the body's officers: those reads load the
bodies the caller acts for (principals.with_bodies) and name the bodies addressed
(`Facts.bodies`); sharing.visibility.concerned is the rule.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from coordination.models import CoordinationBody
from coordination.principals import Principal, with_bodies
from coordination.workflows.models import (
    LIVE_RUN_STATES,
    Acknowledgement,
    AckStatus,
    AgendaItem,
    Escalation,
    IncidentFacts,
    JointCommand,
    Meeting,
    Playbook,
    StepRun,
    StepState,
    Task,
    TaskStatus,
    WorkflowRun,
    from_codes,
)
from incidents.lifecycle import OPEN_STATUSES
from sharing.models import DataKind
from sharing.visibility import Facts, Viewer, decide, sharing_context, visible_q


def _contains(field: str, code: str) -> Q:
    return Q(**{f"{field}__contains": f",{code},"})


def _incident_q(principal: Principal, *, prefix: str, concerned: Q) -> Q:
    viewer = Viewer.of(principal)
    return visible_q(viewer, DataKind.INCIDENTS, owner=f"{prefix}owner",
                     concerned=concerned | _contains(f"{prefix}affected", viewer.jurisdiction),
                     level=f"{prefix}level", category=f"{prefix}category", ctx=sharing_context())


def _facts(incident: IncidentFacts, *concerned, bodies=()) -> Facts:
    return Facts(data_kind=DataKind.INCIDENTS, owner=incident.owner, cluster=incident.cluster,
                 jurisdictions=frozenset({*incident.affected_codes, *concerned}), level=incident.level,
                 category=incident.category, bodies=frozenset(bodies))


def kept_incident_facts(incident: IncidentFacts) -> Facts:
    """The visibility facts of the incident as the engine keeps it (an IncidentFacts row);
    incidents.selectors.incident_facts gives them for the Incident itself."""
    return _facts(incident)


def incident_visible(principal: Principal, incident: IncidentFacts) -> bool:
    return bool(decide(Viewer.of(principal), kept_incident_facts(incident)))


def run_facts(run: WorkflowRun) -> Facts:
    return _facts(run.incident, *from_codes(run.concerned))


def bodies_escalated_to(ack: Acknowledgement) -> set[str]:
    """The coordination bodies the request's silence was escalated to (one query)."""
    return set(Escalation.objects.filter(acknowledgement=ack, target_body__isnull=False)
               .values_list("target_body_id", flat=True))


def acknowledgement_facts(ack: Acknowledgement) -> Facts:
    return _facts(ack.incident, ack.jurisdiction_id, *from_codes(ack.run.concerned), bodies=bodies_escalated_to(ack))


def escalation_facts(escalation: Escalation) -> Facts:
    return _facts(escalation.incident, *from_codes(escalation.jurisdictions), *from_codes(escalation.run.concerned),
                  bodies=[escalation.target_body_id] if escalation.target_body_id else ())


def joint_command_facts(command: JointCommand) -> Facts:
    return _facts(command.incident, *command.participant_codes)


def task_facts(task: Task) -> Facts:
    command = task.joint_command
    return _facts(task.incident, task.assignee_id, *(command.participant_codes if command else ()))


def meeting_facts(meeting: Meeting) -> Facts:
    return Facts(data_kind=DataKind.INCIDENTS, owner=meeting.convener_id, cluster=meeting.cluster,
                 jurisdictions=frozenset(meeting.participant_codes), level=meeting.level, category=meeting.category)


# --- lists (each the start of an API list) ---------------------------------------------------------


def playbooks_visible_to(*, principal: Principal) -> QuerySet[Playbook]:
    """Playbooks are public within a cluster: those for the caller's clusters and those for every cluster."""
    q = Q(clusters="")
    for cluster in principal.clusters:
        q |= _contains("clusters", cluster)
    return Playbook.objects.filter(q)


def runs_visible_to(*, principal: Principal) -> QuerySet[WorkflowRun]:
    code = principal.jurisdiction
    return (WorkflowRun.objects.filter(_incident_q(principal, prefix="incident__",
                                                   concerned=_contains("concerned", code)))
            .select_related("incident", "playbook")
            .prefetch_related(Prefetch("steps", queryset=StepRun.objects.order_by("index"))))


def _escalated_to(bodies) -> QuerySet[Escalation]:
    return Escalation.objects.filter(target_body_id__in=sorted(bodies))


def escalated_to_body(code: str) -> QuerySet[Escalation]:
    """Escalations to one coordination body (a filter; what the caller may see of them is the
    visible query's business)."""
    return _escalated_to([code])


def acknowledgements_visible_to(*, principal: Principal) -> QuerySet[Acknowledgement]:
    principal = with_bodies(principal)
    code = principal.jurisdiction
    concerned = Q(jurisdiction_id=code) | _contains("run__concerned", code)
    if principal.bodies:
        concerned |= Q(pk__in=_escalated_to(principal.bodies).values("acknowledgement_id"))
    return (Acknowledgement.objects.filter(_incident_q(principal, prefix="incident__", concerned=concerned))
            .select_related("incident", "run"))


def escalations_visible_to(*, principal: Principal) -> QuerySet[Escalation]:
    principal = with_bodies(principal)
    code = principal.jurisdiction
    concerned = _contains("jurisdictions", code) | _contains("run__concerned", code)
    if principal.bodies:
        concerned |= Q(target_body_id__in=principal.bodies)
    return (Escalation.objects.filter(_incident_q(principal, prefix="incident__", concerned=concerned))
            .select_related("incident", "run"))


def acknowledgements_owed_by(*, principal: Principal) -> list[Acknowledgement]:
    """What the caller owes, soonest due first: the requests addressed to its jurisdiction and
    not given, and, for an officer seated on a coordination body, the requests escalated to the
    body whose chain nobody has answered yet, unless its own jurisdiction reported the incident
    (each with `for_body`, the body it would answer for; None for the jurisdiction's own)."""
    principal = with_bodies(principal)
    visible = acknowledgements_visible_to(principal=principal).filter(status=AckStatus.PENDING)
    owed = list(visible.filter(jurisdiction_id=principal.jurisdiction).order_by("due_at", "id"))
    for ack in owed:
        ack.for_body = None
    if not principal.bodies:
        return owed
    answered = Acknowledgement.objects.filter(escalation_of=OuterRef("pk"), status=AckStatus.ACKNOWLEDGED)
    # Not for its own jurisdiction's silence, nor on an incident it reported: escalation never
    # comes back to them (escalation.chain_stages; services.acknowledgement_acknowledge refuses it too).
    escalated = list(visible.filter(pk__in=_escalated_to(principal.bodies).values("acknowledgement_id"))
                     .exclude(jurisdiction_id=principal.jurisdiction).exclude(incident__owner=principal.jurisdiction)
                     .exclude(Exists(answered)))
    bodies = {body.code: body for body in CoordinationBody.objects.filter(code__in=principal.bodies)}
    to_body = dict(_escalated_to(principal.bodies).filter(acknowledgement__in=[ack.pk for ack in escalated])
                   .order_by("stage").values_list("acknowledgement_id", "target_body_id"))
    for ack in escalated:
        ack.for_body = bodies[to_body[ack.pk]]
        owed.append(ack)
    return sorted(owed, key=lambda ack: (ack.due_at, str(ack.id)))


def joint_commands_visible_to(*, principal: Principal) -> QuerySet[JointCommand]:
    return (JointCommand.objects.filter(_incident_q(principal, prefix="incident__",
                                                    concerned=_contains("participants", principal.jurisdiction)))
            .select_related("incident")
            .prefetch_related("log", Prefetch("tasks", queryset=Task.objects.select_related("incident"))))


def tasks_visible_to(*, principal: Principal) -> QuerySet[Task]:
    code = principal.jurisdiction
    concerned = Q(assignee_id=code) | _contains("joint_command__participants", code)
    return (Task.objects.filter(_incident_q(principal, prefix="incident__", concerned=concerned))
            .select_related("incident", "joint_command"))


def meetings_visible_to(*, principal: Principal) -> QuerySet[Meeting]:
    viewer = Viewer.of(principal)
    return (Meeting.objects.filter(visible_q(viewer, DataKind.INCIDENTS, owner="convener_id",
                                             concerned=_contains("participants", viewer.jurisdiction),
                                             level="level", category="category", ctx=sharing_context()))
            .prefetch_related(Prefetch("agenda", queryset=AgendaItem.objects.order_by("position")),
                              "decisions__agenda_item", "decisions__tasks__incident"))


# --- what a jurisdiction owes (the duty officer's inbox, ui.inbox) ---------------------------------

# Tasks still to be done by their assignee (TASK_MOVES: the others are over).
OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


def tasks_owed_by(*, principal: Principal) -> QuerySet[Task]:
    """Open tasks assigned to the caller's jurisdiction (by a joint command or a meeting's
    decision), soonest due first, undated ones last."""
    return (tasks_visible_to(principal=principal)
            .filter(assignee_id=principal.jurisdiction, status__in=OPEN_TASK_STATUSES)
            .order_by(F("due_at").asc(nulls_last=True), "created_at", "id"))


def meetings_soon_for(*, principal: Principal, now: datetime, ahead: timedelta, started: timedelta) -> list[Meeting]:
    """Scheduled meetings the caller's jurisdiction takes part in that start within `ahead`, or
    started less than `started` ago and are not recorded as held yet; soonest first, each with
    the agenda's incidents (for the incident it is about)."""
    viewer = Viewer.of(principal)
    return list(Meeting.objects.filter(
        visible_q(viewer, DataKind.INCIDENTS, owner="convener_id",
                  concerned=_contains("participants", viewer.jurisdiction),
                  level="level", category="category", ctx=sharing_context()),
        _contains("participants", viewer.jurisdiction),
        status=Meeting.Status.SCHEDULED, scheduled_at__gt=now - started, scheduled_at__lte=now + ahead,
    ).prefetch_related(Prefetch("agenda", queryset=AgendaItem.objects.filter(incident__isnull=False)
                                .select_related("incident").order_by("position"), to_attr="agenda_incidents"))
        .order_by("scheduled_at", "id"))


def notices_for(*, principal: Principal) -> list[StepRun]:
    """The notify steps that told the caller's jurisdiction something (their message is in
    `outcome`), on runs still going for incidents still open; newest first. A notice asks for
    no answer, so it has no deadline: it stays while its incident is open."""
    code = principal.jurisdiction
    steps = (StepRun.objects.filter(kind="notify", state=StepState.DONE, run__state__in=LIVE_RUN_STATES,
                                    run__incident__status__in=OPEN_STATUSES)
             .filter(_incident_q(principal, prefix="run__incident__", concerned=_contains("run__concerned", code)))
             .select_related("run__incident").defer("run__definition", "run__chain")
             .order_by("-done_at", "-id"))
    # `notified` is a JSON list: read here rather than with a JSON lookup SQLite lacks.
    return [step for step in steps if code in (step.outcome or {}).get("notified", ())]


def approval_deadlines(*, alert_ids: Iterable) -> dict[str, datetime | None]:
    """When the approval of each of these drafted alerts times out (the waiting publish_alert
    step that drafted it), by alert id; an alert drafted by hand has no such step. The ids come
    from a list the caller may see (incidents.alerts.selectors): only the deadline is read."""
    ids = [str(alert_id) for alert_id in alert_ids]
    if not ids:
        return {}
    steps = StepRun.objects.filter(kind="publish_alert", state=StepState.WAITING, outcome__alert__in=ids)
    return {step.outcome["alert"]: step.due_at for step in steps.only("outcome", "due_at")}
