"""Joint meetings (联席会议) convened by officers: convening one on the incidents the caller may
see, recording its decisions (each task it names becomes a task of the agenda item's incident),
holding or calling it off. A playbook's convene_meeting step is the engine's
(coordination.workflows.joint_command).
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import CoordinationBody
from coordination.principals import Principal, require
from coordination.roles import Action
from coordination.workflows import events, payloads
from coordination.workflows.contract import (
    AGENDA_ITEM_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    jurisdictions_checked,
    text_checked,
)
from coordination.workflows.models import (
    AgendaItem,
    Decision,
    JointCommand,
    Meeting,
    Task,
    as_codes,
)
from coordination.workflows.selectors import (
    meeting_facts,
)
from coordination.workflows.services.lookup import incident_named, parsed_id, visible_or_404
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import emit_event
from sharing.models import LEVEL_RANK


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
        facts = incident_named(actor, item.get("incident")) if item.get("incident") else None
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
    meeting = Meeting.objects.select_for_update(no_key=True).filter(pk=parsed_id(meeting_id)).first()
    if meeting is None:
        raise NotFound("No such meeting.")
    visible_or_404(actor, meeting_facts(meeting))
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
