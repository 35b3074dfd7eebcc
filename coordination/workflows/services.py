"""Writes people make on joint prevention and control: playbooks, acknowledgements, run
control, alert approval, joint commands, tasks and joint meetings.

Each runs in one transaction, writes an audit entry, emits one event per write and a timeline
entry on the incident; callers (the API, the stream's `ack`, the admin) pass a Principal and
what it sent. What the engine does on its own starts in coordination.workflows.triggers and
coordination.workflows.deadlines.

At some 520 lines of code this module is longer than the engine's: it holds one function per
action an officer or a city system takes on the workflows, in sections that share the input
checks at the top, and the API, the web UI, the admin and the stream import them from here.
A section that grows past a handful of services moves to a module of its own.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Cluster, CoordinationBody
from coordination.notify.services import notifications_cancel
from coordination.principals import Principal, require, with_bodies
from coordination.roles import Action
from coordination.workflows import events, joint_command, payloads, reconcile, runs, steps, timers
from coordination.workflows.contract import (
    ACK_COMMENT_MAX_LENGTH,
    AGENDA_ITEM_MAX_LENGTH,
    PLAYBOOK_NAME_MAX_LENGTH,
    RUN_CANCEL_REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    jurisdictions_checked,
    text_checked,
)
from coordination.workflows.definitions import definition_validated
from coordination.workflows.models import (
    ACTIVE_RUN_STATES,
    TASK_MOVES,
    Acknowledgement,
    AckStatus,
    AgendaItem,
    Decision,
    IncidentFacts,
    JointCommand,
    JointCommandLogEntry,
    Meeting,
    Playbook,
    RunState,
    StepRun,
    StepState,
    Task,
    WorkflowRun,
    as_codes,
)
from coordination.workflows.selectors import (
    acknowledgement_facts,
    bodies_escalated_to,
    incident_visible,
    joint_command_facts,
    meeting_facts,
    run_facts,
    task_facts,
)
from coordination.workflows.texts import pair
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import emit_event
from sharing.models import LEVEL_RANK
from sharing.visibility import Viewer, decide


def _uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Not found.") from None


def _visible(actor: Principal, facts) -> None:
    if not decide(Viewer.of(actor), facts):
        raise NotFound("Not found.")


# --- playbooks ---------------------------------------------------------------------------------


def _playbook_clusters(definition: dict) -> list[str]:
    clusters = definition["trigger"].get("clusters", [])
    unknown = sorted(set(clusters) - set(Cluster.objects.filter(code__in=clusters).values_list("code", flat=True)))
    if unknown:
        raise ValidationFailed.on("definition.trigger.clusters", f"Unknown clusters: {', '.join(unknown)}.")
    return clusters


def _may_manage(actor: Principal | None, clusters: Sequence[str]) -> None:
    """Coordinators manage the playbooks of their own clusters; a playbook for every cluster
    (no clusters in its trigger) is the service operator's, edited in the admin. None is the
    admin or a command."""
    if actor is None:
        return
    require(actor, Action.MANAGE_PLAYBOOKS, "Only coordinators manage playbooks.")
    if not clusters:
        raise PermissionDenied("A playbook for every cluster is managed by the service operator; name your "
                               "cluster in trigger.clusters.")
    outside = sorted(set(clusters) - set(actor.clusters))
    if outside:
        raise PermissionDenied(f"Coordinators of {', '.join(actor.clusters) or 'no cluster'} cannot manage "
                               f"playbooks of {', '.join(outside)}.")


def _playbook_event(playbook: Playbook, actor: Principal | None, action: str, detail: dict) -> None:
    audit_record(actor=actor, action=action, object_type="playbook", object_id=playbook.code,
                 detail={"version": playbook.version, **detail})


def playbook_definition_checked(*, actor: Principal | None, definition) -> dict:
    """A definition validated whole (a bad one names each problem and where it is), with its
    defaults written out, for clusters the actor manages."""
    definition = definition_validated(definition)
    _may_manage(actor, _playbook_clusters(definition))
    return definition


def playbook_create(*, actor: Principal | None, code: str, name_zh: str, name_en: str, definition,
                    description: str = "", is_active: bool = True) -> Playbook:
    """A new playbook, checked by playbook_definition_checked."""
    definition = playbook_definition_checked(actor=actor, definition=definition)
    clusters = definition["trigger"].get("clusters", [])
    with transaction.atomic():
        if Playbook.objects.filter(code=code).exists():
            raise Conflict(f"A playbook {code!r} exists already.", errors={"code": ["Already in use."]})
        now = timezone.now()
        playbook = Playbook.objects.create(
            code=code,
            name_zh=text_checked("name_zh", name_zh, limit=PLAYBOOK_NAME_MAX_LENGTH),
            name_en=text_checked("name_en", name_en, limit=PLAYBOOK_NAME_MAX_LENGTH),
            description=text_checked("description", description, required=False), definition=definition,
            clusters=as_codes(clusters), is_active=bool(is_active), updated_by=actor.label if actor else "system",
            created_at=now,
            updated_at=now,
        )
        _playbook_event(playbook, actor, "playbook.created", {"definition": definition})
    return playbook


PLAYBOOK_FIELDS = ("name_zh", "name_en", "description", "definition", "is_active")


def playbook_update(*, actor: Principal | None, playbook: Playbook, **changes) -> Playbook:
    """Change a playbook. Runs under way keep the version they froze; new runs take this one."""
    unknown = sorted(set(changes) - set(PLAYBOOK_FIELDS))
    if unknown:
        raise ValidationFailed.on(unknown[0], "This field does not exist or cannot be changed.")
    if "definition" in changes:
        changes["definition"] = playbook_definition_checked(actor=actor, definition=changes["definition"])
    for name in ("name_zh", "name_en"):
        if name in changes:
            changes[name] = text_checked(name, changes[name], limit=PLAYBOOK_NAME_MAX_LENGTH)
    if "description" in changes:
        changes["description"] = text_checked("description", changes["description"], required=False)
    with transaction.atomic():
        locked = Playbook.objects.select_for_update(no_key=True).get(pk=playbook.pk)
        _may_manage(actor, locked.definition["trigger"].get("clusters", []))
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, changes[name])
        locked.clusters = as_codes(locked.definition["trigger"].get("clusters", []))
        locked.version += 1
        locked.updated_by = actor.label if actor else "system"
        locked.updated_at = timezone.now()
        locked.save()
        _playbook_event(locked, actor, "playbook.updated", {"changed": changed})
    return locked


# --- acknowledgements ---------------------------------------------------------------------------


def acknowledgement_acknowledge(*, actor: Principal, acknowledgement_id, comment: str = "") -> Acknowledgement:
    """Acknowledge a request addressed to the caller's jurisdiction (the API's POST …/ack/,
    the stream's `ack` action, the web UI). Acknowledging again changes nothing; acknowledging
    a request of another jurisdiction is refused, one the caller may not see is a 404, except
    for an officer seated on a coordination body the request was escalated to: they answer
    for the body, in the silent jurisdiction's place (recorded as the person, for the body).
    `comment` (optional, up to Acknowledgement.comment's length) is kept with the answer and
    written on the timeline.

    An acknowledgement answered before its deadline check claims it never escalates: both
    lock the same row, and the check only escalates a request that is still pending.
    """
    require(actor, Action.ACKNOWLEDGE, "Your role or scopes do not allow acknowledging.")
    pk = _uuid(acknowledgement_id)
    comment = text_checked("comment", comment or "", limit=ACK_COMMENT_MAX_LENGTH,
                    required=False)
    now = timezone.now()
    with transaction.atomic():
        ack = (Acknowledgement.objects.select_for_update(no_key=True, of=("self",))
               .select_related("incident", "run", "run__playbook").filter(pk=pk).first())
        if ack is None:
            raise NotFound("No such acknowledgement request.")
        for_body = None
        if ack.jurisdiction_id != actor.jurisdiction:
            actor = with_bodies(actor)
            for_body = min(set(actor.bodies) & bodies_escalated_to(ack), default=None)
        _visible(actor, acknowledgement_facts(ack))
        if ack.jurisdiction_id != actor.jurisdiction and for_body is None:
            raise PermissionDenied(f"This request is addressed to {ack.jurisdiction_id}; a jurisdiction "
                                   "acknowledges only on its own behalf, or a coordination body's officer "
                                   "for the body it was escalated to.")
        if for_body and ack.incident.owner == actor.jurisdiction:
            # Escalation never comes back to the reporter (escalation.chain_stages), through a body neither.
            raise PermissionDenied("Your jurisdiction reported this incident; another of the body's officers "
                                   "answers for the body.")
        if ack.status == AckStatus.ACKNOWLEDGED:
            return ack
        if ack.status == AckStatus.CANCELLED:
            raise Conflict("This request was withdrawn (its run ended); there is nothing to acknowledge.",
                           current_status=ack.status)
        ack.status, ack.acknowledged_at, ack.acknowledged_by = AckStatus.ACKNOWLEDGED, now, actor.label[:200]
        ack.next_check_at, ack.token, ack.comment = None, None, comment
        ack.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "next_check_at", "token", "comment"])
        # Whoever answers, the chain stops: the addressee itself, or the lead city or
        # convener it escalated to, standing in for it.
        root_id = ack.escalation_of_id or ack.pk
        Acknowledgement.objects.filter(pk=root_id, status=AckStatus.PENDING).update(next_check_at=None, token=None)
        Acknowledgement.objects.filter(escalation_of_id=root_id, status=AckStatus.PENDING).exclude(pk=ack.pk).update(
            status=AckStatus.CANCELLED, next_check_at=None, token=None)
        notifications_cancel(chain_of=root_id, now=now)  # nobody else is woken for what is answered
        emit_event("acknowledgement.received", subject=events.ack_subject(ack, ack.run),
                   payload=payloads.acknowledgement_data(ack))
        late = ack.overdue or now > ack.due_at
        if for_body:
            note = Note("ack.received_for_body", {"body": for_body, "jurisdiction": ack.jurisdiction_id})
        else:
            note = Note("ack.received_late" if late else "ack.received", {"jurisdiction": actor.jurisdiction})
        timeline_note(incident=ack.incident_id, at=now, actor=actor, note=note)
        if comment:
            timeline_note(incident=ack.incident_id, at=now, actor=actor,
                          note=Note("ack.comment", {"jurisdiction": ack.jurisdiction_id, "comment": comment}))
        audit_record(actor=actor, action="acknowledgement.received", object_type="acknowledgement",
                     object_id=str(ack.pk), object_jurisdiction=ack.incident.owner,
                     detail={"incident": ack.incident_id, "late": late,
                             **({"for_body": for_body} if for_body else {})})
        reconcile.request_reconcile([ack.run_id])
    return ack


# --- run control -----------------------------------------------------------------------------------


def _controlled_run(actor: Principal, run_id) -> WorkflowRun:
    pk = _uuid(run_id)
    run = WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "incident", "playbook").filter(pk=pk).first()
    if run is None:
        raise NotFound("No such workflow run.")
    _visible(actor, run_facts(run))
    require(actor, Action.CONTROL_WORKFLOWS, "Only coordinators pause, resume and cancel workflow runs.")
    if run.incident.cluster not in actor.clusters:
        raise PermissionDenied(f"Coordinators of {', '.join(actor.clusters)} do not control runs in "
                               f"{run.incident.cluster or 'no cluster'}.")
    return run


def _run_changed(run: WorkflowRun, actor: Principal, name: str, note: str, now: datetime) -> None:
    emit_event(name, subject=events.run_subject(run), payload={**payloads.run_data(run), "by": actor.label})
    timeline_note(incident=run.incident_id, at=now, actor=actor,
                  note=Note(note, {"playbook": run.playbook.code, "by": actor.label}))
    audit_record(actor=actor, action=name, object_type="workflow_run", object_id=str(run.id),
                 object_jurisdiction=run.incident.owner, detail={"incident": run.incident_id})


def workflow_run_pause(*, actor: Principal, run_id) -> WorkflowRun:
    """Stop the clock: no step runs and no deadline escalates until the run is resumed."""
    now = timezone.now()
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.PAUSED:
            return run
        runs.run_move(run, RunState.PAUSED, paused_at=now)
        _run_changed(run, actor, "workflow.paused", "run.paused", now)
    return run


def workflow_run_resume(*, actor: Principal, run_id) -> WorkflowRun:
    """Start the clock again: every due time still ahead moves by the time spent paused."""
    now = timezone.now()
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.RUNNING:
            return run
        shift = now - (run.paused_at or now)
        runs.run_move(run, RunState.RUNNING, paused_at=None)
        for step in run.steps.filter(state__in=[StepState.PENDING, StepState.WAITING]):
            timers.schedule_step(step, due_at=step.due_at + shift if step.due_at else None, now=now,
                                 state=step.state)
        for ack in run.acknowledgements.filter(status=AckStatus.PENDING):
            if not ack.overdue:
                ack.due_at += shift
                ack.save(update_fields=["due_at"])
            timers.schedule_check(ack, at=ack.next_check_at + shift if ack.next_check_at else None, now=now)
        _run_changed(run, actor, "workflow.resumed", "run.resumed", now)
        reconcile.request_reconcile([run.id])
    return run


def workflow_run_cancel(*, actor: Principal, run_id, reason: str = "") -> WorkflowRun:
    now = timezone.now()
    reason = text_checked("reason", reason, limit=RUN_CANCEL_REASON_MAX_LENGTH, required=False)
    with transaction.atomic():
        run = _controlled_run(actor, run_id)
        if run.state == RunState.CANCELLED:
            return run
        # The table lets a completed run be cancelled for what it still does (its unanswered
        # requests escalate); with none left there is nothing for a coordinator to stop.
        if run.state == RunState.COMPLETED and not run.acknowledgements.filter(status=AckStatus.PENDING).exists():
            raise Conflict("A completed run has nothing left to cancel.", state=run.state)
        runs.run_end(run, reason=reason or Note("reason.cancelled_by", {"by": actor.label}), by=actor.label, now=now,
                     actor=actor)
    return run


def workflow_step_approve(*, actor: Principal, run_id, step_index: int) -> StepRun:
    """A commander of the reporting jurisdiction approves a publish_alert step's alert."""
    now = timezone.now()
    with transaction.atomic():
        pk = _uuid(run_id)
        run = WorkflowRun.objects.select_for_update(no_key=True, of=("self",)).select_related(
            "incident", "playbook").filter(pk=pk).first()
        if run is None:
            raise NotFound("No such workflow run.")
        _visible(actor, run_facts(run))
        require(actor, Action.APPROVE_ALERT, "Only commanders approve alerts.")
        if actor.jurisdiction != run.incident.owner:
            raise PermissionDenied(f"Only {run.incident.owner}, the reporting jurisdiction, approves its alerts.")
        step = run.steps.filter(index=step_index).first()
        if step is None:
            raise NotFound("The run has no such step.")
        if step.kind != "publish_alert":
            raise ValidationFailed.on("step", f"Step {step_index} is a {step.kind} step, not publish_alert.")
        if step.state != StepState.WAITING:
            raise Conflict(f"Step {step_index} is {step.state}, not waiting for approval.", state=step.state)
        if run.state not in ACTIVE_RUN_STATES:
            raise Conflict(f"The run is {run.state}.", state=run.state)
        claimed = StepRun.objects.filter(pk=step.pk, state=StepState.WAITING, token=step.token).update(
            attempts=step.attempts + 1)
        if not claimed:
            raise Conflict("The step changed meanwhile; read it again.")
        step.refresh_from_db()
        alert = _alert_approve(actor, step.outcome.get("alert"))
        steps.step_approve(run=run, step=runs.adopt(run, step), by=actor.label, alert=alert, now=now)
        audit_record(actor=actor, action="workflow.alert_approved", object_type="workflow_run", object_id=str(run.id),
                     object_jurisdiction=run.incident.owner, detail={"step": step_index})
    return step


def _alert_approve(actor: Principal, alert_id: str | None) -> str | None:
    """Issue the step's draft through the alerts app (its rules, audit and `alert.issued`)."""
    from incidents.alerts.issuing import alert_approve
    from incidents.alerts.models import AlertState

    if not alert_id:
        return None
    alert = alert_approve(actor=actor, alert_id=alert_id)
    return str(alert.pk) if alert.state != AlertState.DRAFT else None


# --- joint command -------------------------------------------------------------------------------


def _incident_facts(actor: Principal, incident: str) -> IncidentFacts:
    facts = IncidentFacts.objects.filter(pk=incident).first() if isinstance(incident, str) else None
    if facts is None or not incident_visible(actor, facts):
        raise ValidationFailed.on("incident", f"No incident {incident!r} that you may see.")
    return facts


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
    facts = _incident_facts(actor, incident)
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
    command = qs.filter(pk=_uuid(command_id)).first()
    if command is None:
        raise NotFound("No such joint command.")
    _visible(actor, joint_command_facts(command))
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
                .select_related("incident", "joint_command").filter(pk=_uuid(task_id)).first())
        if task is None:
            raise NotFound("No such task.")
        _visible(actor, task_facts(task))
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


# --- joint meetings ---------------------------------------------------------------------------------


def meeting_create(*, actor: Principal, title: str, scheduled_at: datetime, agenda: Sequence[Mapping],
                   participants: Sequence[str] = (), body: str | None = None) -> Meeting:
    """Convene a joint meeting (联席会议) on incidents the caller may see. The caller's
    jurisdiction convenes; the incidents' affected jurisdictions are invited with the ones named."""
    require(actor, Action.MANAGE_JOINT_COMMAND, "Only commanders and coordinators convene joint meetings.")
    title = text_checked("title", title, limit=TITLE_MAX_LENGTH)
    if not agenda:
        raise ValidationFailed.on("agenda", "A meeting needs at least one agenda item.")
    if len(agenda) > 50:
        raise ValidationFailed.on("agenda", "At most 50 agenda items.")
    if scheduled_at < timezone.now() - timedelta(hours=1):
        raise ValidationFailed.on("scheduled_at", "A meeting is convened for now or later, not the past.")
    items = []
    for n, item in enumerate(agenda):
        facts = _incident_facts(actor, item.get("incident")) if item.get("incident") else None
        items.append((text_checked(f"agenda.{n}.title", item.get("title", ""), limit=AGENDA_ITEM_MAX_LENGTH), facts))
    incidents = [facts for _, facts in items if facts]
    if not incidents:
        raise ValidationFailed.on("agenda", "At least one agenda item names an incident.")
    codes = set(jurisdictions_checked("participants", participants))
    for facts in incidents:
        codes |= {facts.owner, *facts.affected_codes}
    body_row = None
    if body:
        body_row = CoordinationBody.objects.filter(code=body).first()
        if body_row is None or body_row.cluster_id not in actor.clusters:
            raise ValidationFailed.on("body", f"No coordination body {body!r} in your clusters.")
        codes |= set(body_row.members.values_list("code", flat=True))
    codes.add(actor.jurisdiction)
    level = min((facts.level for facts in incidents if facts.level), key=LEVEL_RANK.__getitem__, default="")
    categories = {facts.category for facts in incidents}
    now = timezone.now()
    with transaction.atomic():
        meeting = Meeting.objects.create(
            title=title, cluster=incidents[0].cluster, convener_id=actor.jurisdiction, body=body_row,
            participants=as_codes(codes), scheduled_at=scheduled_at, level=level,
            category=categories.pop() if len(categories) == 1 else "",
            exercise=all(facts.exercise for facts in incidents), created_at=now, created_by=actor.label,
        )
        rows = AgendaItem.objects.bulk_create(
            AgendaItem(meeting=meeting, position=n, title=text, incident=facts)
            for n, (text, facts) in enumerate(items, start=1)
        )
        emit_event("meeting.convened", subject=events.meeting_subject(meeting),
                   payload=payloads.meeting_data(meeting, rows))
        for facts in {facts.public_id: facts for facts in incidents}.values():
            timeline_note(incident=facts.public_id, at=now, actor=actor, note=Note("meeting.convened", {
                "title": title, "when": payloads.at(scheduled_at, facts.cluster)}))
        audit_record(actor=actor, action="meeting.convened", object_type="meeting", object_id=str(meeting.id),
                     object_jurisdiction=actor.jurisdiction, detail={"incidents": [f.public_id for f in incidents]})
    return meeting


def _meeting(actor: Principal, meeting_id) -> Meeting:
    meeting = Meeting.objects.select_for_update(no_key=True).filter(pk=_uuid(meeting_id)).first()
    if meeting is None:
        raise NotFound("No such meeting.")
    _visible(actor, meeting_facts(meeting))
    require(actor, Action.MANAGE_JOINT_COMMAND, "Only commanders and coordinators record a meeting's outcome.")
    if actor.jurisdiction != meeting.convener_id and not (actor.is_coordinator and meeting.cluster in actor.clusters):
        raise PermissionDenied(f"Only the convener ({meeting.convener_id}) records this meeting's outcome.")
    return meeting


def meeting_decision_record(*, actor: Principal, meeting_id, text: str, agenda_item: int | None = None,
                            tasks: Sequence[Mapping] = ()) -> tuple[Decision, list[Task]]:
    """A decision of the meeting; each task it names becomes a task of the agenda item's
    incident (under its joint command when it has one), assigned to a participant."""
    text = text_checked("text", text)
    if len(tasks) > 50:
        raise ValidationFailed.on("tasks", "At most 50 tasks per decision.")
    now = timezone.now()
    with transaction.atomic():
        meeting = _meeting(actor, meeting_id)
        if meeting.status == Meeting.Status.CANCELLED:
            raise Conflict("The meeting was cancelled.", current_status=meeting.status)
        agenda = list(meeting.agenda.select_related("incident"))
        item = None
        if agenda_item is not None:
            item = next((row for row in agenda if row.position == agenda_item), None)
            if item is None:
                raise ValidationFailed.on("agenda_item", f"The agenda has no item {agenda_item}.")
        facts = item.incident if item and item.incident_id else next(row.incident for row in agenda
                                                                     if row.incident_id)
        participants = meeting.participant_codes
        checked = []
        for n, task in enumerate(tasks):
            assignee = task.get("assignee")
            if assignee not in participants:
                raise ValidationFailed.on(f"tasks.{n}.assignee", f"{assignee!r} does not take part in the meeting.")
            checked.append((text_checked(f"tasks.{n}.title", task.get("title", ""), limit=TITLE_MAX_LENGTH), assignee,
                            task.get("due_at")))
        decision = Decision.objects.create(meeting=meeting, agenda_item=item, text=text, decided_at=now,
                                           recorded_by=actor.label)
        command = JointCommand.objects.filter(incident=facts, status=JointCommand.Status.OPEN).first()
        created = [Task.objects.create(incident=facts, joint_command=command, decision=decision, title=title,
                                       assignee_id=assignee, due_at=due_at, created_at=now, updated_at=now,
                                       created_by=actor.label)
                   for title, assignee, due_at in checked]
        emit_event("meeting.decision_recorded", subject=events.meeting_subject(meeting),
                   payload={"meeting": str(meeting.id), "exercise": meeting.exercise,
                            "decision": payloads.decision_data(decision, cluster=meeting.cluster),
                            "tasks": [payloads.task_data(task) for task in created]})
        assigned = [Note("task.item", {"assignee": task.assignee_id, "title": task.title}) for task in created]
        timeline_note(incident=facts.public_id, at=now, actor=actor,
                      note=Note("meeting.decided_with_tasks", {"text": text, "tasks": assigned}) if assigned
                      else Note("meeting.decided", {"text": text}))
        audit_record(actor=actor, action="meeting.decision_recorded", object_type="meeting",
                     object_id=str(meeting.id), object_jurisdiction=meeting.convener_id,
                     detail={"decision": decision.pk, "tasks": [str(task.id) for task in created]})
    return decision, created


def meeting_close(*, actor: Principal, meeting_id, status: str) -> Meeting:
    """The meeting was held, or is called off."""
    if status not in (Meeting.Status.HELD, Meeting.Status.CANCELLED):
        raise ValidationFailed.on("status", "One of held, cancelled.")
    now = timezone.now()
    with transaction.atomic():
        meeting = _meeting(actor, meeting_id)
        if meeting.status == status:
            return meeting
        if meeting.status != Meeting.Status.SCHEDULED:
            raise Conflict(f"The meeting is {meeting.status} already.", current_status=meeting.status)
        meeting.status = status
        meeting.save(update_fields=["status"])
        agenda = list(meeting.agenda.all())
        emit_event("meeting.closed", subject=events.meeting_subject(meeting),
                   payload=payloads.meeting_data(meeting, agenda))
        for incident in sorted({item.incident_id for item in agenda if item.incident_id}):
            timeline_note(incident=incident, at=now, actor=actor,
                          note=Note(f"meeting.{status}", {"title": meeting.title}))
        audit_record(actor=actor, action="meeting.closed", object_type="meeting", object_id=str(meeting.id),
                     object_jurisdiction=meeting.convener_id, detail={"status": status})
    return meeting
