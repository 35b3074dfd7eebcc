"""Every event the service emits, by name, with the schema of its payload (sharing/event_schemas/).

One pydantic model per event name, `extra="forbid"`: an event whose payload drifts from its
schema fails where it is emitted (and in the tests that cover every emit site), not in a
subscriber's parser. The payload is what subscribers receive as `data` (docs/api.md, "Events").
"""

from typing import Any

from pydantic import ValidationError

from sharing.event_schemas import Payload, agreements, alerts, incidents, notifications, resources, stream, workflows


class UnknownEvent(ValueError):
    pass


class InvalidPayload(ValueError):
    pass


# Every event name, with its schema; a new event gets its line here.
EVENT_SCHEMAS: dict[str, type[Payload]] = {
    "agreement.created": agreements.AgreementCreated,
    "agreement.updated": agreements.AgreementUpdated,
    "alert.drafted": alerts.AlertDrafted,
    "alert.issued": alerts.AlertIssued,
    "alert.updated": alerts.AlertUpdated,
    "alert.cancelled": alerts.AlertCancelled,
    "incident.created": incidents.IncidentCreated,
    "incident.updated": incidents.IncidentUpdated,
    "incident.status_changed": incidents.IncidentStatusChanged,
    "incident.update_added": incidents.IncidentUpdateAdded,
    "sitrep.submitted": incidents.SitrepSubmitted,
    "sitrep.updated": incidents.SitrepUpdated,
    "inventory.created": resources.InventoryCreated,
    "inventory.updated": resources.InventoryUpdated,
    "resource_request.created": resources.ResourceRequestCreated,
    "resource_request.widened": resources.ResourceRequestWidened,
    "resource_request.cancelled": resources.ResourceRequestCancelled,
    "resource_request.offered": resources.ResourceRequestOffered,
    "resource_request.committed": resources.ResourceRequestCommitted,
    "resource_request.dispatched": resources.ResourceRequestDispatched,
    "resource_request.arrived": resources.ResourceRequestArrived,
    "resource_request.released": resources.ResourceRequestReleased,
    "resource_request.returned": resources.ResourceRequestReturned,
    "resource_request.reimbursement_updated": resources.ResourceRequestReimbursementUpdated,
    "notification.sent": notifications.NotificationSent,
    "notification.delivered": notifications.NotificationDelivered,
    "notification.failed": notifications.NotificationFailed,
    "notification.opened": notifications.NotificationOpened,
    "notification.acknowledged": notifications.NotificationAcknowledged,
    "webhook.disabled": stream.WebhookDisabled,
    "workflow.started": workflows.WorkflowStarted,
    "workflow.paused": workflows.WorkflowPaused,
    "workflow.resumed": workflows.WorkflowResumed,
    "workflow.cancelled": workflows.WorkflowCancelled,
    "workflow.completed": workflows.WorkflowCompleted,
    "workflow.step_done": workflows.WorkflowStepDone,
    "workflow.step_skipped": workflows.WorkflowStepSkipped,
    "workflow.step_waiting": workflows.WorkflowStepWaiting,
    "workflow.step_failed": workflows.WorkflowStepFailed,
    "workflow.step_extended": workflows.WorkflowStepExtended,
    "workflow.stalled": workflows.WorkflowStalled,
    "acknowledgement.requested": workflows.AcknowledgementRequested,
    "acknowledgement.received": workflows.AcknowledgementReceived,
    "acknowledgement.overdue": workflows.AcknowledgementOverdue,
    "escalation.raised": workflows.EscalationRaised,
    "joint_command.opened": workflows.JointCommandOpened,
    "joint_command.closed": workflows.JointCommandClosed,
    "joint_command.log_added": workflows.JointCommandLogAdded,
    "workflow.task_assigned": workflows.TaskAssigned,
    "workflow.task_updated": workflows.TaskUpdated,
    "meeting.convened": workflows.MeetingConvened,
    "meeting.closed": workflows.MeetingClosed,
    "meeting.decision_recorded": workflows.MeetingDecisionRecorded,
}


def validate_payload(name: str, payload: dict[str, Any]) -> None:
    schema = EVENT_SCHEMAS.get(name)
    if schema is None:
        raise UnknownEvent(f"{name} is not a registered event (sharing/events.py)")
    try:
        schema.model_validate(payload)
    except ValidationError as exc:
        raise InvalidPayload(f"{name}: {exc}") from exc
