"""Joint prevention and control events (coordination.workflows emits them; its payloads module
builds them): playbook runs and their steps, acknowledgements, escalations, joint commands,
tasks and joint meetings. Every one concerns an incident, so the visibility rule judges it by
the incident's facts and the jurisdictions it addresses."""

from typing import Any

from sharing.event_schemas import Payload

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


class WorkflowStarted(Run):
    steps: list[str]


class WorkflowPaused(Run):
    by: str


class WorkflowResumed(Run):
    by: str


class WorkflowCancelled(Run):
    by: str


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


class WorkflowStepDone(_StepEvent):
    pass


class WorkflowStepSkipped(_StepEvent):
    pass


class WorkflowStepWaiting(_StepEvent):
    pass


class WorkflowStepFailed(_StepEvent):
    error: str


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


class AcknowledgementRequested(_Acknowledgement):
    """Also sent again for a request escalated to a coordination body (the cluster committee),
    with `for_body`: the body whose seated officers are now asked to acknowledge it in the
    silent jurisdiction's place (sharing.selectors.event_bodies: the event reaches them)."""

    for_body: str | None = None


class AcknowledgementReceived(_Acknowledgement):
    pass


class AcknowledgementOverdue(_Acknowledgement):
    pass


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


class JointCommandOpened(_JointCommand):
    pass


class JointCommandClosed(_JointCommand):
    pass


class LogEntry(Payload):
    id: int
    at: str
    author: str
    author_jurisdiction: str
    text: str


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
    title_texts: dict[str, str] = {}  # a playbook's title in zh-hans, zh-hant, en (else empty)
    assignee: str
    due_at: str | None
    status: str
    created_by: str
    exercise: bool


class TaskAssigned(Task):
    pass


class TaskUpdated(Task):
    previous_status: str
    by: str


# --- joint meetings ---------------------------------------------------------------------------


class AgendaItem(Payload):
    position: int
    title: str
    title_texts: dict[str, str] = {}  # a playbook's item in zh-hans, zh-hant, en (else empty)
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


class MeetingConvened(_Meeting):
    pass


class MeetingClosed(_Meeting):
    pass


class DecisionData(Payload):
    id: int
    text: str
    agenda_item: int | None
    decided_at: str
    recorded_by: str


class MeetingDecisionRecorded(Payload):
    meeting: str
    exercise: bool
    decision: DecisionData
    tasks: list[Task]
