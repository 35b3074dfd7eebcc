"""Joint prevention and control events (coordination.workflows emits them; its payloads module
builds them): playbook runs and their steps, acknowledgements, escalations, joint commands,
tasks and joint meetings. Every one concerns an incident, so the visibility rule judges it by
the incident's facts and the jurisdictions it addresses."""

from typing import Any

from sharing.events import Payload, register

# --- runs and steps -----------------------------------------------------------------------------


class Run(Payload):
    id: str
    incident: str
    playbook: str
    playbook_version: int
    state: str
    exercise: bool
    started_at: str
    finished_at: str | None
    ended_reason: str


@register("workflow.started")
class WorkflowStarted(Run):
    steps: list[str]


@register("workflow.paused")
class WorkflowPaused(Run):
    by: str


@register("workflow.resumed")
class WorkflowResumed(Run):
    by: str


@register("workflow.cancelled")
class WorkflowCancelled(Run):
    by: str


@register("workflow.completed")
class WorkflowCompleted(Run):
    pass


class Step(Payload):
    index: int
    id: str
    kind: str
    state: str
    due_at: str | None
    done_at: str | None
    attempts: int
    outcome: dict[str, Any]


class _StepEvent(Payload):
    run: str
    incident: str
    playbook: str
    exercise: bool
    step: Step


@register("workflow.step_done")
class WorkflowStepDone(_StepEvent):
    pass


@register("workflow.step_skipped")
class WorkflowStepSkipped(_StepEvent):
    pass


@register("workflow.step_waiting")
class WorkflowStepWaiting(_StepEvent):
    pass


@register("workflow.step_failed")
class WorkflowStepFailed(_StepEvent):
    error: str


@register("workflow.step_extended")
class WorkflowStepExtended(_StepEvent):
    """A done notify or request_ack step reached jurisdictions the incident came to affect later."""

    added: list[str]


class OverdueStep(Payload):
    index: int
    kind: str
    due_at: str | None


class OverdueAcknowledgement(Payload):
    id: str
    jurisdiction: str
    next_check_at: str | None


@register("workflow.stalled")
class WorkflowStalled(Run):
    """The auditor found due work that did not happen (a silent failure)."""

    overdue_steps: list[OverdueStep]
    overdue_acknowledgements: list[OverdueAcknowledgement]


# --- acknowledgements and escalations ---------------------------------------------------------


class _Acknowledgement(Payload):
    id: str
    run: str
    incident: str
    jurisdiction: str
    status: str
    level: str
    requested_at: str
    due_at: str
    overdue: bool
    escalation_stage: int
    escalation_of: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    exercise: bool


@register("acknowledgement.requested")
class AcknowledgementRequested(_Acknowledgement):
    pass


@register("acknowledgement.received")
class AcknowledgementReceived(_Acknowledgement):
    pass


@register("acknowledgement.overdue")
class AcknowledgementOverdue(_Acknowledgement):
    pass


@register("escalation.raised")
class EscalationRaised(Payload):
    id: str
    run: str
    incident: str
    acknowledgement: str | None
    stage: int
    subject_jurisdiction: str
    target: str
    target_jurisdiction: str | None
    target_body: str | None
    reason: str
    raised_at: str
    exercise: bool


# --- joint command and tasks ------------------------------------------------------------------


class _JointCommand(Payload):
    id: str
    incident: str
    name: str
    lead: str
    participants: list[str]
    status: str
    opened_at: str
    opened_by: str
    closed_at: str | None
    exercise: bool


@register("joint_command.opened")
class JointCommandOpened(_JointCommand):
    pass


@register("joint_command.closed")
class JointCommandClosed(_JointCommand):
    pass


class LogEntry(Payload):
    id: int
    at: str
    author: str
    author_jurisdiction: str
    text: str


@register("joint_command.log_added")
class JointCommandLogAdded(Payload):
    joint_command: str
    incident: str
    exercise: bool
    entry: LogEntry


class Task(Payload):
    id: str
    incident: str
    joint_command: str | None
    decision: int | None
    title: str
    assignee: str
    due_at: str | None
    status: str
    created_by: str
    exercise: bool


@register("workflow.task_assigned")
class TaskAssigned(Task):
    pass


@register("workflow.task_updated")
class TaskUpdated(Task):
    previous_status: str
    by: str


# --- joint meetings ---------------------------------------------------------------------------


class AgendaItem(Payload):
    position: int
    title: str
    incident: str | None


class _Meeting(Payload):
    id: str
    title: str
    cluster: str
    convener: str
    body: str | None
    participants: list[str]
    scheduled_at: str
    status: str
    agenda: list[AgendaItem]
    exercise: bool


@register("meeting.convened")
class MeetingConvened(_Meeting):
    pass


@register("meeting.closed")
class MeetingClosed(_Meeting):
    pass


class DecisionData(Payload):
    id: int
    text: str
    agenda_item: int | None
    decided_at: str
    recorded_by: str


@register("meeting.decision_recorded")
class MeetingDecisionRecorded(Payload):
    meeting: str
    exercise: bool
    decision: DecisionData
    tasks: list[Task]
