"""What the screens with many parts show, put together from the selectors: one incident's
live parts, one alert, the mutual-aid board, the joint command screen. Besides the data, each
says which controls this officer gets; the services decide again when a control is used, so
these only leave out what would be refused.

The views (ui/views/) read the request, call these or a service, and render.
"""

from lxml import etree

from config.errors import NotFound
from coordination.principals import Principal
from coordination.roles import Action
from coordination.workflows.models import TASK_MOVES, AckStatus, JointCommand, Meeting, StepState, TaskStatus
from coordination.workflows.selectors import (
    acknowledgements_visible_to,
    joint_commands_visible_to,
    meetings_visible_to,
    runs_visible_to,
    tasks_visible_to,
)
from incidents import lifecycle, selectors
from incidents.alerts import cap
from incidents.alerts import selectors as alert_selectors
from incidents.alerts.languages import language_name
from incidents.alerts.models import AlertState
from incidents.alerts.selectors import AlertView, alert_data_kind
from sharing.models import DataKind, PublicationKind
from sharing.mutualaid import selectors as aid_selectors
from sharing.mutualaid.lifecycle import (
    ACCEPT,
    CANCEL_PERMISSION,
    CLOSED,
    STEPS,
    TAKING_OFFERS,
    OfferStatus,
    Party,
    RequestStatus,
    still_needed,
)
from ui import labels, registry
from ui.access import permissions
from ui.forms import AlertCancelForm, AlertTermsForm, DecisionForm, LogEntryForm, OfferForm, TaskForm
from ui.timeline import author_name, timeline_lines

# --- one incident ------------------------------------------------------------------------------------


def incident_parts(*, principal: Principal, public_id: str) -> dict:
    """The parts of the incident page that the stream refreshes: status, timeline, situation
    reports, workflow progress and acknowledgements, mutual aid, alerts."""
    incident, data = selectors.incident_read_by(principal=principal, public_id=public_id)
    timeline = selectors.incident_timeline_read_by(principal=principal, public_id=public_id)[1]
    try:
        sitreps = list(selectors.sitreps_read_by(principal=principal, public_id=public_id)[1])
        joint = selectors.joint_sitrep_read_by(principal=principal, public_id=public_id)
    except NotFound:  # the incident is shared with this jurisdiction, its situation reports are not
        sitreps, joint = None, None
    runs = list(runs_visible_to(principal=principal).filter(incident_id=public_id).order_by("started_at"))
    acks = list(acknowledgements_visible_to(principal=principal).filter(incident_id=public_id)
                .order_by("requested_at", "id"))
    command = joint_commands_visible_to(principal=principal).filter(incident_id=public_id).first()
    requests = aid_selectors.requests_read_by(
        principal=principal,
        requests=list(aid_selectors.request_list_visible_to(principal=principal).filter(incident=incident)),
    )
    alerts = alert_selectors.alert_views(principal=principal, alerts=alert_selectors.alert_list_visible_to(
        principal=principal).filter(incident=incident).order_by("-received_at", "id"))
    me = principal.jurisdiction
    is_open = lifecycle.is_open(incident.status)
    concerned = {incident.reporting_jurisdiction_id, *data["affected_jurisdictions"]}
    can = permissions(principal)
    moves = [status for status in lifecycle.Status if status in lifecycle.MOVES[incident.status]]
    return {
        "incident": incident,
        "data": data,
        "timeline": timeline_lines(principal=principal, entries=timeline),
        "sitreps": sitreps,
        "joint": joint,
        "runs": runs,
        "acks": acks,
        "my_acks": [ack for ack in acks if ack.jurisdiction_id == me and ack.status == AckStatus.PENDING],
        "command": command,
        "requests": requests,
        "moves": moves if can["transition"] and incident.reporting_jurisdiction_id == me and is_open else [],
        "may_update": can["report"] and me in concerned and is_open,
        "may_sitrep": can["report"] and me in concerned,
        "may_request_aid": can["write_resources"] and me in concerned and is_open,
        "may_approve": can["approve_alert"] and incident.reporting_jurisdiction_id == me,
        "alerts": alerts,
        "alert_states": AlertState,
        # Only the reporting jurisdiction issues alerts about its incident (the service decides again).
        "may_draft_alert": can["draft_alert"] and incident.reporting_jurisdiction_id == me and is_open,
        # Opening a joint command and convening a meeting: the reporter's commanders, or the
        # cluster's coordinators (coordination.workflows.services decides again).
        "may_command": can["joint_command"] and is_open and (
            incident.reporting_jurisdiction_id == me
            or (principal.is_coordinator and incident.cluster_id in principal.clusters)),
        "waiting": StepState.WAITING,
        "is_open": is_open,
    }


# --- one alert ----------------------------------------------------------------------------------------

# Our own rendering is re-read only to indent it; still, nothing in it is ever expanded or fetched.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)

# Who sees an alert, by the part of the visibility rule that judges it (alert_data_kind).
AUDIENCES = {
    PublicationKind.PUBLIC_ALERTS: labels.AUDIENCE_PUBLIC,
    PublicationKind.DRAFTS: labels.AUDIENCE_DRAFT,
    DataKind.INCIDENTS: labels.AUDIENCE_INCIDENT,
}


def cap_preview(view: AlertView) -> str:
    """The CAP 1.2 document as the officer may have it (GET /api/v1/alerts/{id}/cap/), indented."""
    document = cap.render_cap(view.message)
    try:
        return etree.tostring(etree.fromstring(document, SAFE_PARSER), pretty_print=True, encoding="unicode")
    except etree.XMLSyntaxError:  # our own rendering; shown as it is if it ever does not parse
        return document.decode("utf-8", "replace")


def _terms_of(view: AlertView) -> dict:
    """An alert's choices, to start an Update from (what is not changed stays)."""
    message = view.message
    first = message.infos[0] if message.infos else None
    return {
        "scope": message.scope,
        "restriction": message.restriction or "",
        "addresses": "\n".join(message.addresses),
        "response_type": list(first.response_types) if first else [],
        "expires": first.expires if first else None,
        "contact": (first.contact or "") if first else "",
        "web": (first.web or "") if first else "",
    }


def language_blocks(infos) -> tuple[cap.Info | None, list[dict]]:
    """An alert's language blocks as the reader reads them: the one in the reader's language
    first (labels.in_my_language: a Chinese reader's own script, then any Chinese block), then
    the others in CAP order, each named in the reader's language ("英文"), to show beside it
    as the message's words sent to readers of that language."""
    mine = labels.in_my_language(infos)
    others = [{"info": info, "name": language_name(info.language)} for info in infos if info is not mine]
    return mine, others


def alert_screen(*, principal: Principal, alert_id, update_form=None, cancel_form=None) -> dict:
    """One alert as the officer may see it (NotFound otherwise: a draft is its owner's alone),
    its CAP preview, and what this officer may do with it: approve a draft; update or cancel
    the message in charge of its chain (alerts issued from an incident, by their jurisdiction)."""
    view = alert_selectors.alert_get_visible_to(principal=principal, alert_id=alert_id)
    alert = view.alert
    mine, others = language_blocks(view.message.infos)
    ours = alert.incident_id is not None and alert.owner_id == principal.jurisdiction
    may_write = ours and principal.can(Action.APPROVE_ALERT)
    incident_open = alert.incident_id is not None and lifecycle.is_open(alert.incident.status)
    kind = alert_data_kind(alert)
    return {
        "view": view,
        "alert": alert,
        "cap": cap_preview(view),
        "my_block": mine,
        "other_blocks": others,
        "drafted_by": author_name(alert.drafted_by),
        "affected": [link.jurisdiction_id for link in alert.affected.all()],
        "states": AlertState,
        "audience": kind,
        "audience_kinds": PublicationKind if kind in PublicationKind.values else DataKind,
        "audience_text": AUDIENCES.get(kind, ""),
        "replaces": list(alert.supersedes.all()),
        "may_approve": may_write and alert.state == AlertState.DRAFT and incident_open,
        "may_update": may_write and alert.state == AlertState.ACTIVE and incident_open,
        "may_cancel": may_write and alert.state == AlertState.ACTIVE,
        "update_form": update_form or AlertTermsForm(initial=_terms_of(view)),
        "cancel_form": cancel_form or AlertCancelForm(),
    }


# --- the mutual-aid board ---------------------------------------------------------------------------


def _moves_for(principal, request: dict) -> list[tuple[str, str]]:
    """Which lifecycle buttons this officer gets on a request (the service decides anyway)."""
    me = principal.jurisdiction
    party = (Party.REQUESTER if request["requester"] == me
             else Party.SUPPLIER if any(offer["jurisdiction"] == me for offer in request["offers"]) else None)
    if party is None:
        return []
    statuses = {offer["status"] for offer in request["offers"]
                if party == Party.REQUESTER or offer["jurisdiction"] == me}
    return [(action, labels.COMMITMENT_MOVES[action]) for action, step in STEPS.items()
            if step.source in statuses and party in step.parties and principal.can(step.permission)]


def aid_board(*, principal: Principal, offer_forms=None, show_finished: bool = False) -> dict:
    """The mutual-aid board: stock, and each request with the controls this officer gets.
    Finished requests (lifecycle.CLOSED: returned, cancelled) only when asked for."""
    inventories = aid_selectors.inventories_read_by(
        principal=principal, inventories=list(aid_selectors.inventory_list_visible_to(principal=principal)))
    inventories.sort(key=lambda item: (item["jurisdiction"] != principal.jurisdiction, item["jurisdiction"],
                                       item["resource_type"]))
    visible = aid_selectors.request_list_visible_to(principal=principal)
    finished = visible.filter(status__in=CLOSED)
    finished_count = finished.count()
    if not show_finished:
        visible = visible.exclude(status__in=CLOSED)
    requests = aid_selectors.requests_read_by(principal=principal, requests=list(visible))
    offer_forms = offer_forms or {}
    me = principal.jurisdiction
    board = []
    for item in requests:
        taking = item["status"] in TAKING_OFFERS and item["remaining"] > 0
        board.append({
            "request": item,
            "moves": _moves_for(principal, item),
            "may_offer": (taking and me != item["requester"] and me in item["recipients"]
                          and principal.can(Action.WRITE_RESOURCES)),
            "may_accept": taking and me == item["requester"] and principal.can(ACCEPT.permission),
            "may_cancel": (me == item["requester"] and item["status"] in (RequestStatus.OPEN, RequestStatus.COMMITTED)
                           and principal.can(CANCEL_PERMISSION)),
            "may_widen": (taking and me == item["requester"] and item["reach"] != "cluster"
                          and principal.can(Action.WRITE_RESOURCES)),
            "offer_form": offer_forms.get(item["id"]) or OfferForm(initial={"quantity": item["remaining"]}),
            "still_needed": still_needed(status=item["status"], remaining=item["remaining"]),
        })
    return {
        "inventories": inventories,
        "board": board,
        "offered": OfferStatus.OFFERED,
        "offer_statuses": OfferStatus,
        "show_finished": show_finished,
        "finished_count": finished_count,
    }


# --- joint command and meetings -------------------------------------------------------------------------


def _directs(principal, command) -> bool:
    """May this officer direct the joint command (add tasks, close it)? The service decides
    again; this only leaves the controls out for those it would refuse."""
    return (principal.can(Action.MANAGE_JOINT_COMMAND) and command.status == JointCommand.Status.OPEN
            and (principal.jurisdiction in {command.incident.owner, command.lead_id}
                 or (principal.is_coordinator and command.incident.cluster in principal.clusters)))


def _convenes(principal, meeting) -> bool:
    return (principal.can(Action.MANAGE_JOINT_COMMAND)
            and (principal.jurisdiction == meeting.convener_id
                 or (principal.is_coordinator and meeting.cluster in principal.clusters)))


def participants(command) -> list[tuple[str, str]]:
    return [(code, registry.place_name(code)) for code in command.participant_codes]


def command_screen(*, principal: Principal, forms=None) -> dict:
    """Joint commands, meetings and our tasks, with the controls this officer gets; `forms`
    holds bound forms to show again with their errors, by key."""
    forms = forms or {}
    commands = list(joint_commands_visible_to(principal=principal).order_by("status", "-opened_at"))
    meetings = list(meetings_visible_to(principal=principal).order_by("-scheduled_at"))
    my_tasks = list(tasks_visible_to(principal=principal).filter(assignee_id=principal.jurisdiction)
                    .exclude(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED]).order_by("due_at", "created_at"))
    # Each task with the statuses it may move to, in lifecycle order (TASK_MOVES is the rule).
    my_tasks = [(task, [status for status in TaskStatus if status in TASK_MOVES[task.status]]) for task in my_tasks]
    return {
        "commands": [{
            "command": command,
            "directs": _directs(principal, command),
            "log_form": forms.get(f"log-{command.id}") or LogEntryForm(),
            "task_form": forms.get(f"task-{command.id}") or TaskForm(participants=participants(command)),
        } for command in commands],
        "meetings": [{
            "meeting": meeting,
            "convenes": _convenes(principal, meeting) and meeting.status == Meeting.Status.SCHEDULED,
            "decision_form": forms.get(f"decision-{meeting.id}") or DecisionForm(agenda=meeting.agenda.all()),
        } for meeting in meetings],
        "my_tasks": my_tasks,
        "command_open": JointCommand.Status.OPEN,
    }
