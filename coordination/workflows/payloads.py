"""Runs, steps, acknowledgements, escalations, joint commands, tasks and meetings as plain data:
what events carry (sharing/event_schemas/workflows.py checks them) and what the API answers
is built from the same rows, so a subscriber and a poller read one shape.

Times are rendered in the cluster's time zone (docs/api.md, "Identifiers and times").
"""

from datetime import datetime

from coordination.workflows.models import (
    Acknowledgement,
    Decision,
    Escalation,
    JointCommand,
    JointCommandLogEntry,
    Meeting,
    StepRun,
    Task,
    WorkflowRun,
)
from incidents.payloads import cluster_zone


def at(value: datetime | None, cluster: str | None) -> str | None:
    return value.astimezone(cluster_zone(cluster)).isoformat() if value is not None else None


def run_data(run: WorkflowRun) -> dict:
    cluster = run.incident.cluster
    return {
        "id": str(run.id),
        "incident": run.incident_id,
        "playbook": run.playbook.code,
        "playbook_version": run.playbook_version,
        "state": run.state,
        "exercise": run.incident.exercise,
        "started_at": at(run.started_at, cluster),
        "finished_at": at(run.finished_at, cluster),
        "ended_reason": run.ended_reason,
    }


def step_data(step: StepRun, *, cluster: str) -> dict:
    return {
        "index": step.index,
        "id": step.step_id,
        "kind": step.kind,
        "state": step.state,
        "due_at": at(step.due_at, cluster),
        "done_at": at(step.done_at, cluster),
        "attempts": step.attempts,
        "outcome": step.outcome,
    }


def step_event(run: WorkflowRun, step: StepRun, **extra) -> dict:
    return {
        "run": str(run.id),
        "incident": run.incident_id,
        "playbook": run.playbook.code,
        "exercise": run.incident.exercise,
        "step": step_data(step, cluster=run.incident.cluster),
        **extra,
    }


def acknowledgement_data(ack: Acknowledgement, *, for_body: str | None = None) -> dict:
    """`for_body`: the coordination body the request is now asked of, in the silent
    jurisdiction's place (an escalation to the cluster committee); only on that request."""
    cluster = ack.incident.cluster
    return {
        "id": str(ack.id),
        "run": str(ack.run_id),
        "incident": ack.incident_id,
        "jurisdiction": ack.jurisdiction_id,
        "status": ack.status,
        "level": ack.level,
        "requested_at": at(ack.requested_at, cluster),
        "due_at": at(ack.due_at, cluster),
        "overdue": ack.overdue,
        "escalation_stage": ack.stage,
        "escalation_of": str(ack.escalation_of_id) if ack.escalation_of_id else None,
        "acknowledged_at": at(ack.acknowledged_at, cluster),
        "acknowledged_by": ack.acknowledged_by or None,
        "exercise": ack.incident.exercise,
        **({"for_body": for_body} if for_body else {}),
    }


def escalation_data(escalation: Escalation) -> dict:
    return {
        "id": str(escalation.id),
        "run": str(escalation.run_id),
        "incident": escalation.incident_id,
        "acknowledgement": str(escalation.acknowledgement_id) if escalation.acknowledgement_id else None,
        "stage": escalation.stage,
        "subject_jurisdiction": escalation.subject_jurisdiction,
        "target": escalation.target,
        "target_jurisdiction": escalation.target_jurisdiction_id,
        "target_body": escalation.target_body_id,
        "reason": escalation.reason,
        "raised_at": at(escalation.raised_at, escalation.incident.cluster),
        "exercise": escalation.incident.exercise,
    }


def joint_command_data(command: JointCommand) -> dict:
    cluster = command.incident.cluster
    return {
        "id": str(command.id),
        "incident": command.incident_id,
        "name": command.name,
        "lead": command.lead_id,
        "participants": command.participant_codes,
        "status": command.status,
        "opened_at": at(command.opened_at, cluster),
        "opened_by": command.opened_by,
        "closed_at": at(command.closed_at, cluster),
        "exercise": command.incident.exercise,
    }


def log_entry_data(entry: JointCommandLogEntry, *, cluster: str) -> dict:
    return {
        "id": entry.pk,
        "at": at(entry.at, cluster),
        "author": entry.author,
        "author_jurisdiction": entry.author_jurisdiction,
        "text": entry.text,
    }


def task_data(task: Task) -> dict:
    cluster = task.incident.cluster
    return {
        "id": str(task.id),
        "incident": task.incident_id,
        "joint_command": str(task.joint_command_id) if task.joint_command_id else None,
        "decision": task.decision_id,
        "title": task.title,
        "title_texts": task.title_texts,
        "assignee": task.assignee_id,
        "due_at": at(task.due_at, cluster),
        "status": task.status,
        "created_by": task.created_by,
        "exercise": task.incident.exercise,
    }


def meeting_data(meeting: Meeting, agenda) -> dict:
    return {
        "id": str(meeting.id),
        "title": meeting.title,
        "cluster": meeting.cluster,
        "convener": meeting.convener_id,
        "body": meeting.body_id,
        "participants": meeting.participant_codes,
        "scheduled_at": at(meeting.scheduled_at, meeting.cluster),
        "status": meeting.status,
        "agenda": [{"position": item.position, "title": item.title, "title_texts": item.title_texts,
                    "incident": item.incident_id} for item in agenda],
        "exercise": meeting.exercise,
    }


def decision_data(decision: Decision, *, cluster: str) -> dict:
    return {
        "id": decision.pk,
        "text": decision.text,
        "agenda_item": decision.agenda_item.position if decision.agenda_item_id else None,
        "decided_at": at(decision.decided_at, cluster),
        "recorded_by": decision.recorded_by,
    }
