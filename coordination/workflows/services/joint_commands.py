"""Officers' writes on a joint command (联合指挥部): opening it, its tasks and shared log, closing
it; and moving a task, whether a joint command or a meeting's decision assigned it. The writes a
playbook step shares with these (opening the command, assigning a task) are the engine's, in
coordination.workflows.joint_command.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.principals import Principal, require
from coordination.roles import Action
from coordination.workflows import events, joint_command, payloads
from coordination.workflows.contract import (
    TITLE_MAX_LENGTH,
    jurisdictions_checked,
    text_checked,
)
from coordination.workflows.models import (
    TASK_MOVES,
    IncidentFacts,
    JointCommand,
    JointCommandLogEntry,
    Task,
)
from coordination.workflows.selectors import (
    joint_command_facts,
    task_facts,
)
from coordination.workflows.services.lookup import incident_named, parsed_id, visible_or_404
from coordination.workflows.texts import pair
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import emit_event


def _may_command(actor: Principal, facts: IncidentFacts, command: JointCommand | None = None) -> None:
    """The reporting jurisdiction, the joint command's lead, or a coordinator of the cluster."""
    require(actor, Action.MANAGE_JOINT_COMMAND, "Only commanders and coordinators direct a joint command.")
    allowed = {facts.owner} | ({command.lead_id} if command else set())
    if actor.jurisdiction in allowed or (actor.is_coordinator and facts.cluster in actor.clusters):
        return
    raise PermissionDenied("Only the reporting jurisdiction, the lead or the cluster's coordinators may do this.")


def joint_command_open(*, actor: Principal, incident: str, lead: str | None = None,
                       participants: Sequence[str] = (), name: str = "") -> tuple[JointCommand, bool]:
    """Open the incident's joint command (one per incident: the open one is returned)."""
    facts = incident_named(actor, incident)
    _may_command(actor, facts)
    codes = jurisdictions_checked("participants", participants)
    lead = lead or facts.owner
    jurisdictions_checked("lead", [lead])
    name = text_checked("name", name, limit=TITLE_MAX_LENGTH, required=False)
    with transaction.atomic():
        command, opened = joint_command.open_joint_command(facts=facts, lead=lead, participants={*facts.affected_codes,
                                                                                         *codes},
                                                   name=name, by=actor.label, now=timezone.now(), actor=actor)
    return command, opened


def _command(actor: Principal, command_id, *, lock: bool = True) -> JointCommand:
    qs = JointCommand.objects.select_related("incident")
    if lock:
        qs = qs.select_for_update(no_key=True, of=("self",))
    command = qs.filter(pk=parsed_id(command_id)).first()
    if command is None:
        raise NotFound("No such joint command.")
    visible_or_404(actor, joint_command_facts(command))
    return command


def _open(command: JointCommand) -> None:
    if command.status != JointCommand.Status.OPEN:
        raise Conflict("The joint command is closed.", current_status=command.status)


def joint_command_task_add(*, actor: Principal, joint_command_id, title: str, assignee: str,
                           due_at: datetime | None = None) -> Task:
    with transaction.atomic():
        command = _command(actor, joint_command_id)
        _may_command(actor, command.incident, command)
        _open(command)
        title = text_checked("title", title, limit=TITLE_MAX_LENGTH)
        if assignee not in command.participant_codes:
            raise ValidationFailed.on("assignee", f"{assignee!r} does not take part in this joint command "
                                                  f"({', '.join(command.participant_codes)}).")
        task = joint_command.task_assign(facts=command.incident, title=title, assignee=assignee, due_at=due_at,
                                 by=actor.label, now=timezone.now(), joint_command=command, actor=actor)
        audit_record(actor=actor, action="task.assigned", object_type="task", object_id=str(task.id),
                     object_jurisdiction=command.incident.owner, detail={"assignee": assignee})
    return task


def joint_command_log_add(*, actor: Principal, joint_command_id, text: str) -> JointCommandLogEntry:
    """A line in the shared log, by any participant."""
    require(actor, Action.REPORT_INCIDENT)
    text = text_checked("text", text)
    now = timezone.now()
    with transaction.atomic():
        command = _command(actor, joint_command_id, lock=False)
        if actor.jurisdiction not in command.participant_codes:
            raise PermissionDenied("Only participating jurisdictions write in the joint command's log.")
        _open(command)
        entry = JointCommandLogEntry.objects.create(joint_command=command, at=now, author=actor.label,
                                                    author_jurisdiction=actor.jurisdiction, text=text)
        facts = command.incident
        emit_event("joint_command.log_added",
                   subject=events.subject(facts, type="joint_command", id=str(command.id),
                                           concerned=command.participant_codes),
                   payload={"joint_command": str(command.id), "incident": facts.public_id,
                            "exercise": facts.exercise, "entry": payloads.log_entry_data(entry, cluster=facts.cluster)})
        timeline_note(incident=facts.public_id, at=now, actor=actor, note=Note("command.log", {"text": text}))
        audit_record(actor=actor, action="joint_command.log_added", object_type="joint_command",
                     object_id=str(command.id), object_jurisdiction=facts.owner, detail={"entry": entry.pk})
    return entry


def joint_command_close(*, actor: Principal, joint_command_id) -> JointCommand:
    now = timezone.now()
    with transaction.atomic():
        command = _command(actor, joint_command_id)
        _may_command(actor, command.incident, command)
        if command.status == JointCommand.Status.CLOSED:
            return command
        command.status, command.closed_at = JointCommand.Status.CLOSED, now
        command.save(update_fields=["status", "closed_at"])
        facts = command.incident
        emit_event("joint_command.closed",
                   subject=events.subject(facts, type="joint_command", id=str(command.id),
                                           concerned=command.participant_codes),
                   payload=payloads.joint_command_data(command))
        timeline_note(incident=facts.public_id, at=now, actor=actor, note=Note("command.closed"))
        audit_record(actor=actor, action="joint_command.closed", object_type="joint_command",
                     object_id=str(command.id), object_jurisdiction=facts.owner)
    return command


# --- tasks ---------------------------------------------------------------------------------------


def task_transition(*, actor: Principal, task_id, status: str) -> Task:
    """The assignee moves its task along open → in_progress → done (or cancelled); the one
    who assigned it (the lead, the reporter, a coordinator) may cancel it."""
    if status not in TASK_MOVES:
        raise ValidationFailed.on("status", f"Unknown status {status!r}; one of {', '.join(TASK_MOVES)}.")
    require(actor, Action.REPORT_INCIDENT)
    now = timezone.now()
    with transaction.atomic():
        task = (Task.objects.select_for_update(no_key=True, of=("self",))
                .select_related("incident", "joint_command").filter(pk=parsed_id(task_id)).first())
        if task is None:
            raise NotFound("No such task.")
        visible_or_404(actor, task_facts(task))
        directing = actor.jurisdiction in {task.incident.owner, task.joint_command.lead_id if task.joint_command
                                           else task.incident.owner} or actor.is_coordinator
        if actor.jurisdiction != task.assignee_id and not (status == "cancelled" and directing):
            raise PermissionDenied(f"This task is {task.assignee_id}'s to move.")
        if task.status == status:
            return task
        if status not in TASK_MOVES[task.status]:
            allowed = sorted(TASK_MOVES[task.status])
            raise Conflict(f"A {task.status} task cannot become {status}"
                           + (f"; it may become {', '.join(allowed)}." if allowed else "; it is final."),
                           current_status=task.status, allowed=allowed)
        previous = task.status
        task.status, task.updated_at = status, now
        task.save(update_fields=["status", "updated_at"])
        emit_event("workflow.task_updated", subject=events.task_subject(task),
                   payload={**payloads.task_data(task), "previous_status": previous, "by": actor.label})
        timeline_note(incident=task.incident_id, at=now, actor=actor, note=Note("task.moved", {
            "title": pair(task.title_text), "assignee": task.assignee_id, "from_status": previous,
            "to_status": status}))
        audit_record(actor=actor, action="task.updated", object_type="task", object_id=str(task.id),
                     object_jurisdiction=task.incident.owner, detail={"from": previous, "to": status})
    return task
