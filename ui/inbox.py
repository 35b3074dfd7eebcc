"""The duty officer's inbox (待办): everything the officer's jurisdiction, or a coordination body
the officer sits on, owes or may act on, in one list, soonest deadline first (docs/ui.md, "The
inbox").

Each kind is read through its own layer's selector, which applies the visibility rule and says
what is owed: acknowledgements asked for (coordination.workflows), drafted alerts to approve
(incidents.alerts, with the approval's deadline from the playbook step that drafted them),
tasks, meetings about to start and the notices playbooks sent (coordination.workflows), offers
to accept and requests to answer (sharing.mutualaid). This module only turns them into items:
what is asked, as a sentence made here from codes in the reader's language; the deadline as an
instant (the page counts it down); where it is done.

Only what is addressed to the officer's own jurisdiction (or body) is here, never what another
jurisdiction owes, even one whose incidents the officer may see.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from coordination.principals import Principal, with_bodies
from coordination.workflows import selectors as workflow_selectors
from coordination.workflows.models import Acknowledgement
from coordination.workflows.texts import localized
from incidents.alerts import selectors as alert_selectors
from sharing.mutualaid import selectors as aid_selectors
from ui import labels, registry, timeline

ACKNOWLEDGEMENT = "acknowledgement"
ALERT_APPROVAL = "alert_approval"
TASK = "task"
OFFER = "offer"
MEETING = "meeting"
REQUEST = "request"
NOTICE = "notice"

# What each item is, as the officer reads it on the item (a tag) and in the inbox's counts.
KIND_LABELS = {
    ACKNOWLEDGEMENT: gettext_lazy("To acknowledge"),
    ALERT_APPROVAL: gettext_lazy("Alert to approve"),
    TASK: gettext_lazy("Task due"),
    OFFER: gettext_lazy("Offer to accept"),
    MEETING: gettext_lazy("Meeting soon"),
    REQUEST: gettext_lazy("Request to answer"),
    NOTICE: gettext_lazy("Notice"),
}
COUNT_LABELS = {**KIND_LABELS, ACKNOWLEDGEMENT: gettext_lazy("Acknowledgements we owe")}
LINK_LABELS = {
    ACKNOWLEDGEMENT: gettext_lazy("Open the incident"),
    ALERT_APPROVAL: gettext_lazy("Review and approve"),
    TASK: gettext_lazy("Open our tasks"),
    OFFER: gettext_lazy("Accept on the mutual-aid board"),
    MEETING: gettext_lazy("Open the meeting"),
    REQUEST: gettext_lazy("Offer on the mutual-aid board"),
    NOTICE: gettext_lazy("Open the incident"),
}

# A meeting is in the inbox from this long before it starts until this long after (unless it is
# recorded as held or called off before): the officer who has to attend sees it coming.
MEETING_AHEAD = timedelta(hours=6)
MEETING_STARTED = timedelta(hours=1)


@dataclass
class Item:
    kind: str
    # Stable across refreshes: the page's script tells a new item from one it has shown by it.
    key: str
    asked: str
    link: str
    due_at: datetime | None = None
    incident_id: str = ""
    incident_title: str = ""
    level: str = ""
    exercise: bool = False
    # A notice's time (it has no deadline), for "sent at".
    sent_at: datetime | None = None
    # The acknowledgement to answer in place (the form), for that kind only.
    ack: Acknowledgement | None = None

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def link_label(self) -> str:
        return str(LINK_LABELS[self.kind])

    @property
    def starts(self) -> bool:
        """The deadline is when it starts (a meeting), not when it is overdue."""
        return self.kind == MEETING


def _ack_items(acks: list[Acknowledgement]) -> list[Item]:
    # The silent jurisdiction an escalated request stands in for: one query for them all.
    prefetch_related_objects([ack for ack in acks if ack.escalation_of_id], "escalation_of")
    items = []
    for ack in acks:
        facts = ack.incident
        if ack.for_body is not None:
            body = registry.name_of("body", ack.for_body.code)  # a Traditional reader's name too
            asked = (_("Escalated to %(body)s, which we sit on: %(place)s has not answered; acknowledge for the body.")
                     % {"body": body, "place": registry.place_name(ack.jurisdiction_id)})
        elif ack.escalation_of_id:
            asked = _("Acknowledge in place of %(place)s, which has not answered.") % {
                "place": registry.place_name(ack.escalation_of.jurisdiction_id)}
        else:
            asked = _("%(owner)s reported it: acknowledge that we have received it.") % {
                "owner": registry.place_name(facts.owner)}
        items.append(Item(ACKNOWLEDGEMENT, f"ack-{ack.pk}", asked, reverse("ui:incident", args=[facts.public_id]),
                          due_at=ack.due_at, incident_id=facts.public_id, incident_title=facts.title,
                          level=ack.level, exercise=facts.exercise, ack=ack))
    return items


def _alert_items(principal: Principal) -> list[Item]:
    drafts = list(alert_selectors.alert_drafts_awaiting_approval(principal=principal))
    deadlines = workflow_selectors.approval_deadlines(alert_ids=[alert.pk for alert in drafts])
    items = []
    for alert in drafts:
        info = labels.in_my_language(list(alert.infos.all()))
        headline = (info.headline or info.event) if info else ""
        asked = (_("Approve the public alert drafted for this incident: \u201c%(headline)s\u201d.")
                 % {"headline": headline} if headline else _("Approve the public alert drafted for this incident."))
        incident = alert.incident
        items.append(Item(ALERT_APPROVAL, f"alert-{alert.pk}", asked, reverse("ui:alert", args=[alert.pk]),
                          due_at=deadlines.get(str(alert.pk)), incident_id=incident.public_id,
                          incident_title=incident.title, level=incident.level, exercise=incident.exercise))
    return items


def _task_items(principal: Principal) -> list[Item]:
    items = []
    for task in workflow_selectors.tasks_owed_by(principal=principal):
        title = notice_message(task.title_texts) if task.title_texts else timeline.local_name(task.title)
        asked = (_("The joint command gave us a task: %(title)s") if task.joint_command_id
                 else _("A joint meeting's decision gave us a task: %(title)s")) % {"title": title}
        facts = task.incident
        items.append(Item(TASK, f"task-{task.pk}", asked, reverse("ui:command") + "#tasks-title",
                          due_at=task.due_at, incident_id=facts.public_id, incident_title=facts.title,
                          level=facts.level, exercise=facts.exercise))
    return items


def _meeting_items(principal: Principal, now: datetime) -> list[Item]:
    items = []
    for meeting in workflow_selectors.meetings_soon_for(principal=principal, now=now, ahead=MEETING_AHEAD,
                                                        started=MEETING_STARTED):
        asked = _("Convened by %(convener)s: %(title)s") % {
            "convener": registry.place_name(meeting.convener_id), "title": timeline.local_name(meeting.title)}
        facts = meeting.agenda_incidents[0].incident if meeting.agenda_incidents else None
        items.append(Item(MEETING, f"meeting-{meeting.pk}", asked, reverse("ui:command") + f"#meeting-{meeting.pk}",
                          due_at=meeting.scheduled_at, incident_id=facts.public_id if facts else "",
                          incident_title=facts.title if facts else "", level=meeting.level,
                          exercise=meeting.exercise))
    return items


def _amount(request) -> dict:
    return {"n": request.quantity - request.accepted_quantity,
            "unit": registry.unit_name(request.resource_type.unit),
            "what": labels.name_of({"zh": request.resource_type.name_zh, "en": request.resource_type.name_en},
                                   request.resource_type_id)}


def _offer_items(principal: Principal) -> list[Item]:
    items = []
    for offer in aid_selectors.offers_to_accept(principal=principal):
        request = offer.request
        amount = _amount(request)
        asked = _("%(who)s offers %(n)s %(unit)s of %(what)s for our request: accept it or not.") % {
            **amount, "n": offer.quantity, "who": registry.place_name(offer.jurisdiction_id)}
        incident = request.incident
        items.append(Item(OFFER, f"offer-{offer.pk}", asked, reverse("ui:resources") + f"#request-{request.pk}",
                          due_at=request.needed_by, incident_id=incident.public_id, incident_title=incident.title,
                          level=incident.level, exercise=request.exercise))
    return items


def _request_items(principal: Principal) -> list[Item]:
    items = []
    for request in aid_selectors.requests_to_answer(principal=principal):
        asked = _("%(who)s asks us for %(n)s %(unit)s of %(what)s: offer what we can.") % {
            **_amount(request), "who": registry.place_name(request.requester_id)}
        incident = None if request.incident_withheld else request.incident
        items.append(Item(REQUEST, f"request-{request.pk}", asked,
                          reverse("ui:resources") + f"#request-{request.pk}", due_at=request.needed_by,
                          incident_id=incident.public_id if incident else "",
                          incident_title=incident.title if incident else "",
                          level=incident.level if incident else "", exercise=request.exercise))
    return items


def notice_message(message) -> str:
    """A playbook's text as the reader reads it (definitions.NotifyStep.message, a task's
    title_text): given in three languages ({"zh-hans": …, "zh-hant": …, "en": …}), in the
    reader's; a plain string (a hand-written playbook) as written."""
    return localized(message, get_language())


def _notice_items(principal: Principal) -> list[Item]:
    items = []
    for step in workflow_selectors.notices_for(principal=principal):
        facts = step.run.incident
        message = notice_message(step.outcome.get("message"))
        asked = (_("The playbook tells us: %(message)s") % {"message": message} if message
                 else _("The playbook told us of this incident."))
        items.append(Item(NOTICE, f"notice-{step.pk}", asked, reverse("ui:incident", args=[facts.public_id]),
                          incident_id=facts.public_id, incident_title=facts.title, level=facts.level,
                          exercise=facts.exercise, sent_at=step.done_at))
    return items


def _order(item: Item) -> tuple:
    # Soonest deadline first; then what asks for something by no set time (an undated task, an
    # alert drafted by hand); the notices last, newest first: they ask for no answer here.
    if item.due_at is not None:
        return (0, item.due_at.timestamp(), item.key)
    if item.kind != NOTICE:
        return (1, 0, item.key)
    return (2, -(item.sent_at.timestamp() if item.sent_at else 0), item.key)


def inbox_items(*, principal: Principal, acknowledgements: list[Acknowledgement] | None = None,
                now: datetime | None = None) -> list[Item]:
    """Everything the principal's jurisdiction (or a body it sits on) owes, soonest first.
    `acknowledgements`: those owed, when the caller has read them already."""
    now = now or timezone.now()
    # The bodies the officer sits on, read once for every kind (each selector would read them).
    principal = with_bodies(principal)
    if acknowledgements is None:
        acknowledgements = workflow_selectors.acknowledgements_owed_by(principal=principal)
    items = [*_ack_items(acknowledgements), *_alert_items(principal), *_task_items(principal),
             *_meeting_items(principal, now), *_offer_items(principal), *_request_items(principal),
             *_notice_items(principal)]
    return sorted(items, key=_order)


def inbox_counts(items: list[Item]) -> list[tuple[str, str, int]]:
    """(kind, label, how many) of each kind present, in the order of KIND_LABELS."""
    counts = {kind: 0 for kind in KIND_LABELS}
    for item in items:
        counts[item.kind] += 1
    return [(kind, str(COUNT_LABELS[kind]), n) for kind, n in counts.items() if n]
