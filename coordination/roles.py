"""Who may do what: the one table of actions, for officers (by role) and API clients (by scope).

Views and services ask `principal.can(action)`; nobody compares role names by hand.
"""

from enum import StrEnum

from coordination.models import Role


class Scope(StrEnum):
    READ = "read"
    INCIDENTS_WRITE = "incidents:write"
    RESOURCES_WRITE = "resources:write"
    ALERTS_WRITE = "alerts:write"
    ACK = "ack"


ALL_SCOPES = [scope.value for scope in Scope]

ROLE_ORDER = [Role.VIEWER, Role.OPERATOR, Role.COMMANDER, Role.COORDINATOR]


class Action(StrEnum):
    READ = "read"
    REPORT_INCIDENT = "incident.report"  # create, update, add timeline entries, sitreps
    TRANSITION_INCIDENT = "incident.transition"
    WRITE_RESOURCES = "resources.write"  # inventories, requests, offers
    ACCEPT_OFFERS = "resources.accept"  # commit another jurisdiction's resources
    DRAFT_ALERT = "alert.draft"
    APPROVE_ALERT = "alert.approve"
    IMPORT_ALERT = "alert.import"  # a CAP document from another warning system (POST /api/v1/cap/)
    ACKNOWLEDGE = "acknowledge"
    MANAGE_SHARING = "sharing.manage"
    MANAGE_CAP_SENDERS = "cap_senders.manage"  # which jurisdiction may import under a CAP sender
    MANAGE_PLAYBOOKS = "playbooks.manage"
    CONTROL_WORKFLOWS = "workflows.control"
    MANAGE_JOINT_COMMAND = "joint_command.manage"
    MANAGE_ROSTERS = "rosters.manage"  # duty rosters: shifts, overrides, iCalendar import


# action -> (weakest officer role allowed, API client scope that allows it or None)
PERMISSIONS: dict[Action, tuple[Role, Scope | None]] = {
    Action.READ: (Role.VIEWER, Scope.READ),
    Action.REPORT_INCIDENT: (Role.OPERATOR, Scope.INCIDENTS_WRITE),
    Action.TRANSITION_INCIDENT: (Role.COMMANDER, Scope.INCIDENTS_WRITE),
    Action.WRITE_RESOURCES: (Role.OPERATOR, Scope.RESOURCES_WRITE),
    Action.ACCEPT_OFFERS: (Role.COMMANDER, Scope.RESOURCES_WRITE),
    Action.DRAFT_ALERT: (Role.COMMANDER, Scope.ALERTS_WRITE),
    Action.APPROVE_ALERT: (Role.COMMANDER, Scope.ALERTS_WRITE),
    Action.IMPORT_ALERT: (Role.COMMANDER, Scope.ALERTS_WRITE),
    Action.ACKNOWLEDGE: (Role.OPERATOR, Scope.ACK),
    Action.MANAGE_SHARING: (Role.COORDINATOR, None),
    # Never a client scope: a city system must not vouch for the senders it imports under.
    Action.MANAGE_CAP_SENDERS: (Role.COORDINATOR, None),
    Action.MANAGE_PLAYBOOKS: (Role.COORDINATOR, None),
    Action.CONTROL_WORKFLOWS: (Role.COORDINATOR, None),
    Action.MANAGE_JOINT_COMMAND: (Role.COMMANDER, None),
    # Never a client scope: a roster names people, and a city system does not speak for them.
    Action.MANAGE_ROSTERS: (Role.COMMANDER, None),
}


def role_allows(role: str, action: Action) -> bool:
    weakest, _ = PERMISSIONS[action]
    return ROLE_ORDER.index(Role(role)) >= ROLE_ORDER.index(weakest)


def scopes_allow(scopes: list[str], action: Action) -> bool:
    _, scope = PERMISSIONS[action]
    return scope is not None and scope.value in scopes
