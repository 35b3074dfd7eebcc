"""Joint command (联合指挥部) and joint meetings (联席会议) as a playbook opens them: the
`open_joint_command` and `convene_meeting` steps, and the writes they share with the people
who open commands and assign tasks by hand (services.joint_commands: joint_command_open,
…_task_add).

One joint command per incident: whoever opens it first, a playbook or a commander, opens it;
the other finds it open.
"""

from collections.abc import Iterable
from datetime import datetime

from coordination.audit import audit_record
from coordination.principals import Principal
from coordination.registry import registry
from coordination.workflows import payloads
from coordination.workflows.definitions import duration_seconds
from coordination.workflows.events import emit, meeting_subject, subject, task_subject
from coordination.workflows.models import (
    AgendaItem,
    IncidentFacts,
    JointCommand,
    Meeting,
    StepState,
    Task,
    TaskStatus,
    WorkflowRun,
    as_codes,
)
from coordination.workflows.runs import ENGINE, concern, finish
from coordination.workflows.texts import pair, plain, texts_of
from coordination.workflows.timeline import Note, default_name, timeline_note
from coordination.workflows.timers import scaled


def joint_command_lead(*, rule: str, facts: IncidentFacts, chain: dict) -> str:
    """core_city: the lead city of the reporter's metropolitan circle, else a core city among
    the affected, else the reporter; most_affected and reporter: the reporting jurisdiction
    (where the incident is, and the only one whose figures the engine knows)."""
    if rule == "core_city":
        lead = chain.get("circle_leads", {}).get(facts.owner)
        if lead:
            return lead
        cores = registry().cores.get(facts.cluster, frozenset())
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


def task_assign(*, facts: IncidentFacts, title: str | dict, assignee: str, due_at: datetime | None, by: str,
                now: datetime, joint_command: JointCommand | None = None, note: bool = True,
                actor: Principal | None = None) -> Task:
    """A task for a jurisdiction; `note=False` when the caller's own timeline entry lists it.
    `title`: a playbook's may be in three languages (texts.py), kept as such beside its English."""
    task = Task.objects.create(incident=facts, joint_command=joint_command, title=plain(title),
                               title_texts=texts_of(title), assignee_id=assignee,
                               due_at=due_at, created_at=now, updated_at=now, created_by=by)
    emit("workflow.task_assigned", subject=task_subject(task), payload=payloads.task_data(task))
    if note:
        task_note = {"assignee": assignee, "title": pair(title)}
        timeline_note(incident=facts.public_id, at=now, actor=actor,
                      note=Note("task.assigned_due", {**task_note, "due": payloads.at(due_at, facts.cluster)})
                      if due_at else Note("task.assigned", task_note))
    return task


def open_joint_command_step(run, step, spec, now) -> str:
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
        Note("task.item", {"assignee": task.assignee_id, "title": pair(task.title_text)}) for task in tasks]})


def convene_meeting_step(run, step, spec, now) -> str:
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
        + [AgendaItem(meeting=meeting, position=n, title=plain(text), title_texts=texts_of(text), incident=facts)
           for n, text in enumerate(spec.agenda, start=2)]
    )
    emit("meeting.convened", subject=meeting_subject(meeting), payload=payloads.meeting_data(meeting, agenda))
    concern(run, participants)
    when = payloads.at(meeting.scheduled_at, facts.cluster)
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"meeting": str(meeting.id), "scheduled_at": when, "convener": convener,
                           "participants": sorted(participants)},
                  note=Note("step.meeting_convened", {"convener": convener, "when": when}), concerned=participants)


def command_closed_with_incident(facts: IncidentFacts, *, now: datetime) -> JointCommand | None:
    """The incident closed or was cancelled: its joint command closes with it, and the tasks
    it left open are cancelled (TASK_MOVES allows it from open and in progress; done ones stay
    done), in one timeline line that lists them. The same event as a commander closing it
    (services.joint_command_close) tells the participants. None when there is no open one."""
    command = JointCommand.objects.select_for_update(no_key=True).filter(
        incident=facts, status=JointCommand.Status.OPEN).first()
    if command is None:
        return None
    command.status, command.closed_at = JointCommand.Status.CLOSED, now
    command.save(update_fields=["status", "closed_at"])
    emit("joint_command.closed", subject=subject(facts, type="joint_command", id=str(command.id),
                                                 concerned=command.participant_codes),
         payload=payloads.joint_command_data(command))
    left = list(Task.objects.select_for_update(no_key=True).filter(
        joint_command=command, status__in=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS]).order_by("created_at", "id"))
    for task in left:
        previous = task.status
        task.status, task.updated_at = TaskStatus.CANCELLED, now
        task.save(update_fields=["status", "updated_at"])
        emit("workflow.task_updated", subject=task_subject(task),
             payload={**payloads.task_data(task), "previous_status": previous, "by": ENGINE})
    status = facts.status
    timeline_note(incident=facts.public_id, at=now, note=Note(
        "closing.command_closed_with_tasks", {"status": status, "tasks": [
            Note("task.item", {"assignee": task.assignee_id, "title": task.title}) for task in left]})
        if left else Note("closing.command_closed", {"status": status}))
    audit_record(actor=None, action="joint_command.closed", object_type="joint_command", object_id=str(command.id),
                 object_jurisdiction=facts.owner,
                 detail={"incident_status": status, "tasks_cancelled": [str(task.id) for task in left]})
    return command
