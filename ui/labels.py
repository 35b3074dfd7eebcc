"""Words the UI shows for codes: levels, categories and types, events, timeline entries,
workflow steps. Every one is translatable (gettext) or carries its own zh/en pair
(incidents.catalogue), so a page reads the same in either language."""

from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from incidents.catalogue import CATEGORY_LABELS, TYPES

LEVELS = ("I", "II", "III", "IV")

# The level is always written out next to its colour (the colour alone tells nothing to a
# colour-blind officer or on a black-and-white printout).
LEVEL_LABELS = {
    "I": _("Level I · particularly serious"),
    "II": _("Level II · serious"),
    "III": _("Level III · relatively serious"),
    "IV": _("Level IV · general"),
}
LEVEL_SHORT = {"I": _("Level I"), "II": _("Level II"), "III": _("Level III"), "IV": _("Level IV")}

EVENT_LABELS = {
    "incident.created": _("Incident reported"),
    "incident.updated": _("Incident changed"),
    "incident.status_changed": _("Status changed"),
    "incident.update_added": _("Update on an incident"),
    "sitrep.submitted": _("Situation report submitted"),
    "sitrep.updated": _("Situation report revised"),
    "alert.drafted": _("Alert drafted"),
    "alert.issued": _("Alert issued"),
    "alert.updated": _("Alert updated"),
    "alert.cancelled": _("Alert cancelled"),
    "acknowledgement.requested": _("Acknowledgement requested"),
    "acknowledgement.received": _("Acknowledged"),
    "acknowledgement.overdue": _("Acknowledgement overdue"),
    "escalation.raised": _("Escalated"),
    "workflow.started": _("Playbook started"),
    "workflow.completed": _("Playbook completed"),
    "workflow.paused": _("Playbook paused"),
    "workflow.resumed": _("Playbook resumed"),
    "workflow.cancelled": _("Playbook cancelled"),
    "workflow.stalled": _("Playbook stalled"),
    "workflow.step_done": _("Playbook step done"),
    "workflow.step_skipped": _("Playbook step skipped"),
    "workflow.step_waiting": _("Playbook step waiting"),
    "workflow.step_failed": _("Playbook step failed"),
    "workflow.step_extended": _("Playbook deadline extended"),
    "workflow.task_assigned": _("Task assigned"),
    "workflow.task_updated": _("Task updated"),
    "joint_command.opened": _("Joint command opened"),
    "joint_command.log_added": _("Joint command log"),
    "joint_command.closed": _("Joint command closed"),
    "meeting.convened": _("Joint meeting convened"),
    "meeting.decision_recorded": _("Meeting decision"),
    "meeting.closed": _("Joint meeting closed"),
    "resource_request.created": _("Mutual aid requested"),
    "resource_request.widened": _("Mutual aid request widened"),
    "resource_request.cancelled": _("Mutual aid request cancelled"),
    "resource_request.offered": _("Mutual aid offered"),
    "resource_request.committed": _("Mutual aid committed"),
    "resource_request.dispatched": _("Mutual aid dispatched"),
    "resource_request.arrived": _("Mutual aid arrived"),
    "resource_request.released": _("Mutual aid released"),
    "resource_request.returned": _("Mutual aid returned"),
    "resource_request.reimbursement_updated": _("Reimbursement updated"),
    "inventory.created": _("Stock recorded"),
    "inventory.updated": _("Stock changed"),
    "agreement.created": _("Sharing agreement made"),
    "agreement.updated": _("Sharing agreement changed"),
    "webhook.disabled": _("Webhook disabled"),
    # Who was reached (issue 20: coordination/notify/events.py).
    "notification.sent": _("Message sent"),
    "notification.delivered": _("Message delivered"),
    "notification.failed": _("Message not delivered"),
    "notification.opened": _("Message link opened"),
    "notification.acknowledged": _("Acknowledged from the message"),
}

TIMELINE_KINDS = {
    "reported": _("Reported"),
    "update": _("Update"),
    "status_changed": _("Status changed"),
    "jurisdiction_added": _("Jurisdiction added"),
    # Entries other apps write: alerts, mutual aid and the playbooks (coordination.workflows.timeline).
    "alert": pgettext_lazy("timeline entry", "Alert"),
    "mutual_aid": _("Mutual aid"),
    "workflow": pgettext_lazy("timeline entry", "Playbook"),
}

STEP_KINDS = {
    "notify": _("Notify"),
    "request_ack": _("Ask to acknowledge"),
    "open_joint_command": _("Open a joint command"),
    "convene_meeting": _("Convene a joint meeting"),
    "wait": _("Wait"),
    "request_resources": _("Ask for mutual aid"),
    "publish_alert": _("Publish a public alert"),
    "escalate": _("Escalate"),
}

# The buttons that move a task (the moves themselves: coordination.workflows.models.TASK_MOVES).
TASK_MOVE_BUTTONS = {
    "in_progress": _("Start"),
    "done": _("Mark done"),
    "cancelled": _("Cancel the task"),
}
# The moves a party records on a mutual-aid commitment (sharing.mutualaid.lifecycle.STEPS).
COMMITMENT_MOVES = {
    "dispatch": _("Mark dispatched"),
    "arrive": _("Mark arrived"),
    "release": _("Release"),
    "return": _("Mark returned home"),
}
# CAP 1.2's words (incidents.alerts.cap.model) as an officer reads them; the CAP preview keeps
# the CAP values themselves.
CAP_WORDS = {
    # <scope>
    "Public": _("Public"),
    "Restricted": pgettext_lazy("CAP scope", "Restricted"),
    "Private": pgettext_lazy("CAP scope", "Private (named addressees)"),
    # <msgType>
    "Alert": pgettext_lazy("CAP message type", "Alert"),
    "Update": pgettext_lazy("CAP message type", "Update"),
    "Cancel": pgettext_lazy("CAP message type", "Cancel"),
    "Ack": pgettext_lazy("CAP message type", "Acknowledgement"),
    "Error": pgettext_lazy("CAP message type", "Error"),
    # <status>
    "Actual": pgettext_lazy("CAP status", "Actual"),
    "Exercise": pgettext_lazy("CAP status", "Exercise"),
    "System": pgettext_lazy("CAP status", "System"),
    "Test": pgettext_lazy("CAP status", "Test"),
    "Draft": pgettext_lazy("CAP status", "Draft"),
    # <urgency>, <severity>, <certainty> of an <info> block ("Unknown" is a value of each).
    "Immediate": pgettext_lazy("CAP urgency", "Immediate"),
    "Expected": pgettext_lazy("CAP urgency", "Expected (within the hour)"),
    "Future": pgettext_lazy("CAP urgency", "Future"),
    "Past": pgettext_lazy("CAP urgency", "Past (no action needed)"),
    "Extreme": pgettext_lazy("CAP severity", "Extreme"),
    "Severe": pgettext_lazy("CAP severity", "Severe"),
    "Moderate": pgettext_lazy("CAP severity", "Moderate"),
    "Minor": pgettext_lazy("CAP severity", "Minor"),
    "Observed": pgettext_lazy("CAP certainty", "Observed"),
    "Likely": pgettext_lazy("CAP certainty", "Likely"),
    "Possible": pgettext_lazy("CAP certainty", "Possible"),
    "Unlikely": pgettext_lazy("CAP certainty", "Unlikely"),
    "Unknown": pgettext_lazy("CAP urgency, severity or certainty", "Unknown"),
}
# <responseType>: what the public is told to do.
RESPONSE_TYPES = {
    "Shelter": _("Shelter in place"),
    "Evacuate": _("Evacuate"),
    "Prepare": _("Prepare"),
    "Execute": _("Execute the plan"),
    "Avoid": _("Avoid the area"),
    "Monitor": _("Monitor information"),
    "Assess": _("Assess the situation"),
    "AllClear": _("All clear"),
    "None": _("No action"),
}


# Who sees an alert (the visibility rule's part that judges it: incidents.alerts.selectors).
AUDIENCE_PUBLIC = _("A public alert: every officer and system of Liandong sees it, as the public feed does.")
AUDIENCE_DRAFT = _("A draft: only its jurisdiction sees it until it is approved.")
AUDIENCE_INCIDENT = _(
    "Shared as an incident is: its jurisdiction, the ones it affects, and others by level and sharing agreements."
)


def cap_word(value: str) -> str:
    return str(CAP_WORDS.get(value, value))


# CAP `language` codes (RFC 3066) written in Traditional characters: Hong Kong's, Macao's and
# Taiwan's alerts (the Hong Kong Observatory's are zh-HK).
TRADITIONAL = ("zh-hk", "zh-mo", "zh-tw", "zh-hant")


def in_my_language(infos):
    """The CAP info block in the officer's language (by its `language`), else the first with
    a headline or event; None for none. A Chinese reader takes the block in its own script
    first (zh-hant: zh-HK, zh-MO, zh-TW, zh-Hant; zh-hans: the others, zh-CN as ours are),
    then any Chinese block."""
    reader = (get_language() or "").lower()

    def rank(info) -> int:
        code = (info.language or "").lower()
        if not _zh():
            return 0 if code.startswith("en") else 1
        if not code.startswith("zh"):
            return 2
        return 0 if code.startswith(TRADITIONAL) == (reader == "zh-hant") else 1

    ordered = sorted(infos, key=rank)
    return next((info for info in ordered if info.headline or info.event), None)


FIGURES = {
    "deaths": _("Deaths"),
    "injured": _("Injured"),
    "missing": _("Missing"),
    "evacuated": _("Evacuated"),
    "shelters_open": _("Shelters open"),
    "resources_deployed": _("Resources deployed"),
}

SENSITIVE_FIELD_LABELS = {
    "casualty_details": _("Casualty details (personal data)"),
    "contacts": _("Contact numbers"),
}


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def category_label(code: str) -> str:
    label = CATEGORY_LABELS.get(code)
    if label is None:
        return code
    return label.zh if _zh() else label.en


def type_label(category: str, code: str) -> str:
    label = TYPES.get(category, {}).get(code)
    if label is None:
        return code
    return label.zh if _zh() else label.en


def category_choices() -> list[tuple[str, str]]:
    return [(str(code), category_label(code)) for code in CATEGORY_LABELS]


def type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Types grouped by category (an <optgroup> per category)."""
    return [
        (category_label(category), [(code, type_label(category, code)) for code in types])
        for category, types in TYPES.items()
    ]


def type_category() -> dict[str, str]:
    """type -> category, for the report form's script (which narrows the types to a category)."""
    return {code: str(category) for category, types in TYPES.items() for code in types}


def name_of(names: dict[str, str] | None, fallback: str = "") -> str:
    """A {"zh": …, "en": …} pair in the current language. A Traditional reader (Hong Kong,
    Macao) reads its "zh-hant" entry when there is one (a registry row's name_zh_hant: 香港特別行政區),
    else the Simplified."""
    if not names:
        return fallback
    if not _zh():
        return names.get("en") or fallback
    if (get_language() or "").lower() == "zh-hant":
        return names.get("zh-hant") or names.get("zh") or fallback
    return names.get("zh") or fallback


EXERCISE_WORD = _("Exercise")

# What the page scripts say (rendered into each page as JSON: the scripts carry no words).
SCRIPT_WORDS = {
    "live": _("Live"),
    "connecting": _("Connecting…"),
    "offline": _("Connection lost, reconnecting…"),
    "left": _("%(time)s left"),
    "overdue": _("Overdue by %(time)s"),
    "changed": _("Something on this page changed."),
    "reload": _("Show the changes"),
    "exercise": EXERCISE_WORD,
}
