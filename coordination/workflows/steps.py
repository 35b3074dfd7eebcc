"""What each kind of playbook step does (definitions.Step): notify, ask to acknowledge,
escalate, open a joint command, convene a meeting, request mutual aid, publish an alert,
wait. Each performer runs inside the engine's transaction, with the run locked and the step
claimed, and ends the step through runtime.finish (or leaves it waiting).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from config.errors import ApplicationError
from coordination.principals import Principal
from coordination.roles import Scope
from coordination.services import audit_record
from coordination.workflows import payloads
from coordination.workflows.definitions import duration_seconds
from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
    AgendaItem,
    Escalation,
    EscalationTarget,
    IncidentFacts,
    JointCommand,
    Meeting,
    StepRun,
    StepState,
    Task,
    WorkflowRun,
    as_codes,
    from_codes,
)
from coordination.workflows.runtime import (
    ENGINE,
    ack_subject,
    advance,
    audience,
    chain_stages,
    concern,
    emit,
    finish,
    holds,
    meeting_subject,
    scaled,
    send_checks,
    set_check,
    subject,
    task_subject,
    wait_for,
)
from coordination.workflows.timeline import Note, default_name, timeline_note
from sharing.visibility import sharing_context


def _notify(run, step, spec, now) -> str:
    recipients = sorted(audience(spec.to, run.incident, run.chain))
    concern(run, recipients)
    note = Note("step.notified", {"jurisdictions": recipients}) if recipients else Note("step.notified_nobody")
    return finish(run, step, now, state=StepState.DONE, outcome={"notified": recipients, "message": spec.message},
                  note=note, concerned=recipients)


def ask(run: WorkflowRun, step: StepRun, spec, codes: Iterable[str], now: datetime) -> list[Acknowledgement]:
    facts = run.incident
    level = facts.level or "IV"
    due = now + scaled(spec.deadline.seconds(level))
    asked = []
    for code in sorted(codes):
        ack = Acknowledgement(run=run, step=step, incident=facts, jurisdiction_id=code, level=level,
                              requested_at=now, due_at=due)
        set_check(ack, at=due, now=now)
        ack.save(force_insert=True)
        emit("acknowledgement.requested", subject=ack_subject(ack, run), payload=payloads.acknowledgement_data(ack))
        asked.append(ack)
    send_checks(asked)
    return asked


def _request_ack(run, step, spec, now) -> str:
    codes = sorted(audience(spec.from_, run.incident, run.chain))
    concern(run, codes)
    asked = ask(run, step, spec, codes, now)
    due = payloads.at(asked[0].due_at, run.incident.cluster) if asked else None
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"asked": codes, "due_at": due, "acknowledgements": [str(ack.id) for ack in asked]},
                  note=Note("step.asked", {"jurisdictions": codes, "due": due}) if asked else Note("step.asked_nobody"),
                  concerned=codes)


def _stage_concerns(chain: dict, target: str, jurisdiction: str | None) -> set[str]:
    if target == EscalationTarget.COMMITTEE:
        return set((chain.get("committee") or {}).get("members", ())) | ({jurisdiction} if jurisdiction else set())
    return {jurisdiction} if jurisdiction else set()


def raise_escalation(*, run: WorkflowRun, stage: int, target: str, jurisdiction: str | None, body: str | None,
                     subject_jurisdiction: str, reason: str | Note, now: datetime,
                     acknowledgement: Acknowledgement | None = None, step: StepRun | None = None) -> Escalation:
    """`reason`: a playbook author's words, or a Note (the escalation row keeps its English)."""
    concerns = _stage_concerns(run.chain, target, jurisdiction) | {subject_jurisdiction}
    escalation = Escalation.objects.create(
        run=run, incident=run.incident, acknowledgement=acknowledgement, step=step, stage=stage,
        subject_jurisdiction=subject_jurisdiction, target=target, target_jurisdiction_id=jurisdiction,
        target_body_id=body, jurisdictions=as_codes(concerns), reason=str(reason), raised_at=now,
    )
    concern(run, concerns)
    emit("escalation.raised", subject=subject(run.incident, type="escalation", id=str(escalation.id),
                                              concerned={*from_codes(run.concerned), *concerns}),
         payload=payloads.escalation_data(escalation))
    whom = {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}
    timeline_note(incident=run.incident_id, at=now,
                  note=Note(f"escalation.{target}", {**whom, "stage": stage, "reason": reason}))
    audit_record(actor=None, action="escalation.raised", object_type="escalation", object_id=str(escalation.id),
                 object_jurisdiction=run.incident.owner,
                 detail={"incident": run.incident_id, "target": target, "jurisdiction": jurisdiction, "body": body})
    return escalation


def _escalate(run, step, spec, now) -> str:
    owner = run.incident.owner
    stages = chain_stages(run.chain, owner)
    if spec.to == "next":
        index = run.escalation_stage
    else:
        index = next((i for i, stage in enumerate(stages) if stage[0] == spec.to), None)
    if index is None or index >= len(stages):
        return finish(run, step, now, state=StepState.DONE,
                      outcome={"escalated": False, "reason": f"no {spec.to} stage above {owner} in the chain"},
                      note=Note("step.nothing_to_escalate", {"step": step.step_id}))
    target, jurisdiction, body = stages[index]
    reason = spec.reason or Note("reason.playbook_level", {"playbook": run.playbook.code, "level": run.incident.level})
    escalation = raise_escalation(run=run, stage=index + 1, target=target, jurisdiction=jurisdiction, body=body,
                                  subject_jurisdiction=owner, reason=reason, now=now, step=step)
    run.escalation_stage = max(run.escalation_stage, index + 1)
    run.save(update_fields=["escalation_stage"])
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"escalated": True, "escalation": str(escalation.id), "target": target,
                           "jurisdiction": jurisdiction, "body": body},
                  note=Note(f"step.escalated_{target}",
                            {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}),
                  concerned=from_codes(escalation.jurisdictions))


def joint_command_lead(*, rule: str, facts: IncidentFacts, chain: dict) -> str:
    """core_city: the lead city of the reporter's metropolitan circle, else a core city among
    the affected, else the reporter; most_affected and reporter: the reporting jurisdiction
    (where the incident is, and the only one whose figures the engine knows)."""
    if rule == "core_city":
        lead = chain.get("circle_leads", {}).get(facts.owner)
        if lead:
            return lead
        cores = sharing_context().cores.get(facts.cluster, frozenset())
        if facts.owner in cores:
            return facts.owner
        core_affected = sorted(set(facts.affected_codes) & cores)
        if core_affected:
            return core_affected[0]
    return facts.owner


def open_joint_command(*, facts: IncidentFacts, lead: str, participants: Iterable[str], name: str, by: str,
                       now: datetime, run: WorkflowRun | None = None,
                       actor: Principal | None = None) -> tuple[JointCommand, bool]:
    """The incident's joint command, opened now, or the one already open (one per incident).
    `by` names who opened it; `actor` is the officer or system behind it (None: a playbook)."""
    existing = JointCommand.objects.select_for_update(no_key=True).filter(incident=facts).first()
    if existing is not None:
        return existing, False
    command = JointCommand.objects.create(
        incident=facts, run=run, name=name or default_name("joint_command", title=facts.title or facts.public_id),
        lead_id=lead, participants=as_codes({lead, *participants}), opened_at=now, opened_by=by,
    )
    emit("joint_command.opened",
         subject=subject(facts, type="joint_command", id=str(command.id), concerned=command.participant_codes),
         payload=payloads.joint_command_data(command))
    opened = {"lead": lead, "participants": command.participant_codes}
    timeline_note(incident=facts.public_id, at=now, actor=actor,
                  note=Note("command.opened", {"by": by, **opened}) if run is None
                  else Note("command.opened_by_playbook", {"playbook": run.playbook.code, **opened}))
    audit_record(actor=actor, action="joint_command.opened", object_type="joint_command", object_id=str(command.id),
                 object_jurisdiction=facts.owner, detail={"lead": lead, "participants": command.participant_codes})
    return command, True


def task_assign(*, facts: IncidentFacts, title: str, assignee: str, due_at: datetime | None, by: str,
                now: datetime, joint_command: JointCommand | None = None, note: bool = True,
                actor: Principal | None = None) -> Task:
    """A task for a jurisdiction; `note=False` when the caller's own timeline entry lists it."""
    task = Task.objects.create(incident=facts, joint_command=joint_command, title=title, assignee_id=assignee,
                               due_at=due_at, created_at=now, updated_at=now, created_by=by)
    emit("workflow.task_assigned", subject=task_subject(task), payload=payloads.task_data(task))
    if note:
        task_note = {"assignee": assignee, "title": title}
        timeline_note(incident=facts.public_id, at=now, actor=actor,
                      note=Note("task.assigned_due", {**task_note, "due": payloads.at(due_at, facts.cluster)})
                      if due_at else Note("task.assigned", task_note))
    return task


def _open_joint_command(run, step, spec, now) -> str:
    facts = run.incident
    lead = joint_command_lead(rule=spec.lead, facts=facts, chain=run.chain)
    author = f"{ENGINE} ({run.playbook.code})"
    command, opened = open_joint_command(facts=facts, lead=lead, participants=facts.affected_codes, name=spec.name,
                                         by=author, now=now, run=run)
    tasks = []
    if opened:
        for template in spec.tasks:
            assignees = {"lead": [command.lead_id], "reporter": [facts.owner],
                         "participants": command.participant_codes}[template.assignee]
            for assignee in assignees:
                tasks.append(task_assign(facts=facts, title=template.title, assignee=assignee,
                                         due_at=now + scaled(duration_seconds(template.due)), by=author, now=now,
                                         joint_command=command, note=False))
    concern(run, command.participant_codes)
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"joint_command": str(command.id), "lead": command.lead_id, "already_open": not opened,
                           "tasks": [str(task.id) for task in tasks]},
                  note=_command_note(command, tasks) if opened else Note("step.command_already_open"),
                  concerned=command.participant_codes)


def _command_note(command: JointCommand, tasks: list[Task]) -> Note:
    if not tasks:
        return Note("step.command_opened", {"lead": command.lead_id})
    return Note("step.command_opened_with_tasks", {"lead": command.lead_id, "tasks": [
        Note("task.item", {"assignee": task.assignee_id, "title": task.title}) for task in tasks]})


def _convene_meeting(run, step, spec, now) -> str:
    facts = run.incident
    committee = run.chain.get("committee") or {}
    circle_lead = run.chain.get("circle_leads", {}).get(facts.owner)
    command = JointCommand.objects.filter(incident=facts).first()
    participants = set(facts.affected_codes)
    body = None
    if spec.body == "committee" and committee:
        body, convener = committee["code"], committee.get("convener") or circle_lead or facts.owner
        participants |= set(committee["members"])
    elif spec.body == "circle" and circle_lead:
        convener = circle_lead
        participants |= {code for code, lead in run.chain["circle_leads"].items() if lead == circle_lead}
    else:
        convener = command.lead_id if command else facts.owner
        participants |= set(command.participant_codes if command else ())
    participants.add(convener)
    meeting = Meeting.objects.create(
        title=default_name("joint_meeting", title=facts.title or facts.public_id), cluster=facts.cluster,
        convener_id=convener,
        body_id=body, participants=as_codes(participants), scheduled_at=now + scaled(duration_seconds(spec.within)),
        level=facts.level, category=facts.category, exercise=facts.exercise, run=run, step=step, created_at=now,
        created_by=f"{ENGINE} ({run.playbook.code})",
    )
    agenda = AgendaItem.objects.bulk_create(
        [AgendaItem(meeting=meeting, position=1, title=default_name("situation", title=facts.title or facts.public_id),
                    incident=facts)]
        + [AgendaItem(meeting=meeting, position=n, title=text, incident=facts)
           for n, text in enumerate(spec.agenda, start=2)]
    )
    emit("meeting.convened", subject=meeting_subject(meeting), payload=payloads.meeting_data(meeting, agenda))
    concern(run, participants)
    when = payloads.at(meeting.scheduled_at, facts.cluster)
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"meeting": str(meeting.id), "scheduled_at": when, "convener": convener,
                           "participants": sorted(participants)},
                  note=Note("step.meeting_convened", {"convener": convener, "when": when}), concerned=participants)


def _request_resources(run, step, spec, now) -> str:
    """A mutual-aid request on the reporting jurisdiction's behalf, from the playbook's template
    (sharing.mutualaid decides whom it reaches). A refusal (the incident closed meanwhile, no
    one to ask) is the step's outcome, not a failure to retry."""
    facts = run.incident
    needed_by = now + scaled(duration_seconds(spec.needed_within))
    outcome = {"resource_type": spec.resource_type, "quantity": spec.quantity,
               "needed_by": payloads.at(needed_by, facts.cluster), "requester": facts.owner}
    try:
        request = _mutual_aid_request(run, spec, needed_by)
    except ApplicationError as exc:
        outcome.update(resource_request=None, refused=exc.detail)
        note = Note("step.aid_not_requested", {"quantity": spec.quantity, "resource_type": spec.resource_type,
                                                "detail": exc.detail})
    else:
        outcome.update(resource_request=str(request.pk))
        note = Note("step.aid_requested", {"requester": facts.owner, "quantity": spec.quantity,
                                            "resource_type": spec.resource_type})
    return finish(run, step, now, state=StepState.DONE, outcome=outcome, note=note)


def _acting_for(run: WorkflowRun, scope: Scope) -> Principal:
    """The plan acting for the reporting jurisdiction, within one scope only, under the
    engine's name (the audit log and what it writes say so)."""
    facts = run.incident
    return Principal(kind="client", label=f"{ENGINE} ({run.playbook.code})", jurisdiction=facts.owner,
                     clusters=(facts.cluster,) if facts.cluster else (), scopes=(scope.value,))


def _mutual_aid_request(run: WorkflowRun, spec, needed_by: datetime):
    """The one call into mutual aid."""
    from sharing.mutualaid.services import resource_request_create

    facts = run.incident
    with transaction.atomic():
        return resource_request_create(actor=_acting_for(run, Scope.RESOURCES_WRITE), data={
            "incident": facts.public_id, "resource_type": spec.resource_type, "quantity": spec.quantity,
            "needed_by": needed_by,
            "description": spec.description or default_name("aid_description", playbook=run.playbook.code),
        })


def _publish_alert(run, step, spec, now) -> str:
    """Drafts the public alert for the reporting jurisdiction and waits for one of its
    commanders to approve it (here: POST …/approve/, or the alerts API); the run goes on
    meanwhile. A draft the alerts app refuses (the incident closed) is the step's outcome."""
    try:
        alert = _alert_draft(run, spec)
    except ApplicationError as exc:
        return finish(run, step, now, state=StepState.DONE, outcome={"alert": None, "refused": exc.detail},
                      note=Note("step.alert_not_drafted", {"detail": exc.detail}))
    until = now + scaled(duration_seconds(spec.approval_timeout)) if spec.approval_timeout else None
    wait_for(run, step, now, until=until, outcome={"awaiting": "approval", "approver": run.incident.owner,
                                                   "alert": str(alert.pk), "headline": spec.headline})
    advance(run, step, now)
    return "waiting"


def _alert_draft(run: WorkflowRun, spec):
    """The one call into the alerts app's drafting; approving is the commander's."""
    from incidents.alerts.services import alert_draft

    wording = {"headline": spec.headline, "instruction": spec.instruction}
    info = [{"language": "en-US", **wording}] if any(wording.values()) else []
    with transaction.atomic():
        return alert_draft(actor=_acting_for(run, Scope.ALERTS_WRITE), incident=run.incident_id, data={"info": info})


def _wait(run, step, spec, now) -> str:
    if spec.duration is not None:
        return finish(run, step, now, state=StepState.DONE, outcome={"waited": spec.duration},
                      note=Note("step.waited", {"duration": spec.duration}))
    if wait_condition_holds(run, spec.until.model_dump(exclude_none=True)):
        return finish(run, step, now, state=StepState.DONE, outcome={"condition_met": True},
                      note=Note("step.condition_holds", {"step": step.step_id}))
    until = now + scaled(duration_seconds(spec.timeout)) if spec.timeout else None
    wait_for(run, step, now, until=until, outcome={"waiting_for": spec.until.model_dump(exclude_none=True)})
    return "waiting"


def wait_condition_holds(run: WorkflowRun, until: dict) -> bool:
    condition = dict(until)
    if condition.pop("all_acknowledged", None) and run.acknowledgements.filter(
            status=AckStatus.PENDING, escalation_of__isnull=True).exists():
        return False
    return holds(condition, run.incident)


PERFORMERS = {
    "notify": _notify,
    "request_ack": _request_ack,
    "escalate": _escalate,
    "open_joint_command": _open_joint_command,
    "convene_meeting": _convene_meeting,
    "request_resources": _request_resources,
    "publish_alert": _publish_alert,
    "wait": _wait,
}


def alert_issued_by(alert_id: str | None) -> str | None:
    """Who approved the drafted alert, once it is issued (None while it is a draft)."""
    from incidents.alerts.models import Alert

    if not alert_id:
        return None
    row = Alert.objects.filter(pk=alert_id).exclude(approved_by="").values_list("approved_by", flat=True)
    return next(iter(row), None)


def step_approve(*, run: WorkflowRun, step: StepRun, by: str, alert: str | None, now: datetime) -> None:
    """A commander approved a waiting publish_alert step (services.workflow_step_approve)."""
    finish(run, step, now, state=StepState.DONE,
           outcome={**step.outcome, "awaiting": None, "approved": True, "approved_by": by, "alert": alert},
           note=Note("step.alert_published", {"by": by, "alert": alert}) if alert
           else Note("step.alert_approved", {"by": by}), blocking=False)
