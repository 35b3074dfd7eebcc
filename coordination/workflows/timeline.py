"""The one place the workflows write to an incident's timeline, and the words they write there.

Every step, acknowledgement, escalation and decision is an event (the workflow's own) and an
entry on the incident's timeline, written in the same transaction through the incidents
app's `incident_timeline_record` (kind "workflow"), which adds no event of its own.

An entry says what happened as a `Note`: a stable message code and its parameters, kept in the
entry's `data` as {"code": …, "params": {…}}, so that a reader shows it in its own language
(the web UI: ui/timeline.py). The entry's `text` is the same message in English, for API
clients. NOTES below is the one registry of those messages: each template is the English text
and the msgid its translations are made from (locale/). PARAM_KINDS says what a parameter
holds, so a reader can put codes and times in its own words; the English text writes them as
they are (jurisdiction codes, ISO 8601 times in the cluster's zone).

The default names the workflows give what they open ("Joint command: …") are kept the same
way in NAMES: the rows store the English name (the API shows it), and `name_parts` lets a
reader recognise a default name and write it in its own language.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_noop

from coordination.principals import Principal

logger = logging.getLogger("liandong.workflows")

NOTES: dict[str, str] = {
    # A run.
    "run.started": gettext_noop("Playbook %(playbook)s (v%(version)s) started."),
    "run.completed": gettext_noop("Playbook %(playbook)s completed."),
    "run.stopped": gettext_noop("Playbook %(playbook)s stopped: %(reason)s."),
    "run.paused": gettext_noop("Playbook %(playbook)s paused by %(by)s."),
    "run.resumed": gettext_noop("Playbook %(playbook)s resumed by %(by)s."),
    "run.extended_notified": gettext_noop("Playbook %(playbook)s: newly affected %(jurisdictions)s notified."),
    "run.extended_asked": gettext_noop(
        "Playbook %(playbook)s: newly affected %(jurisdictions)s asked to acknowledge."),
    # Its steps (runtime.finish adds the playbook).
    "step.failed": gettext_noop("Playbook %(playbook)s: step %(step)s failed (%(error)s)."),
    "step.skipped": gettext_noop("Playbook %(playbook)s: step %(step)s skipped: its condition does not hold (yet)."),
    "step.condition_holds": gettext_noop("Playbook %(playbook)s: step %(step)s: its condition holds."),
    "step.wait_timed_out": gettext_noop("Playbook %(playbook)s: step %(step)s: stopped waiting (timeout)."),
    "step.waited": gettext_noop("Playbook %(playbook)s: waited %(duration)s."),
    "step.notified": gettext_noop("Playbook %(playbook)s: notified %(jurisdictions)s."),
    "step.notified_nobody": gettext_noop("Playbook %(playbook)s: notified no one (no one matched)."),
    "step.asked": gettext_noop("Playbook %(playbook)s: asked %(jurisdictions)s to acknowledge by %(due)s."),
    "step.asked_nobody": gettext_noop("Playbook %(playbook)s: asked no one to acknowledge."),
    "step.escalated_duty_officers": gettext_noop(
        "Playbook %(playbook)s: escalated to the duty officers of %(jurisdiction)s."),
    "step.escalated_circle_lead": gettext_noop(
        "Playbook %(playbook)s: escalated to %(jurisdiction)s, lead city of the metropolitan circle."),
    "step.escalated_committee": gettext_noop("Playbook %(playbook)s: escalated to the cluster committee %(body)s."),
    "step.nothing_to_escalate": gettext_noop("Playbook %(playbook)s: step %(step)s: nothing left to escalate to."),
    "step.command_opened": gettext_noop("Playbook %(playbook)s: joint command led by %(lead)s opened."),
    "step.command_opened_with_tasks": gettext_noop(
        "Playbook %(playbook)s: joint command led by %(lead)s opened; tasks: %(tasks)s."),
    "step.command_already_open": gettext_noop("Playbook %(playbook)s: the incident's joint command was open already."),
    "step.meeting_convened": gettext_noop(
        "Playbook %(playbook)s: joint meeting convened by %(convener)s for %(when)s."),
    "step.aid_requested": gettext_noop(
        "Playbook %(playbook)s: mutual aid requested for %(requester)s: %(quantity)s × %(resource_type)s."),
    "step.aid_not_requested": gettext_noop(
        "Playbook %(playbook)s: mutual aid (%(quantity)s × %(resource_type)s) not requested: %(detail)s"),
    "step.alert_not_drafted": gettext_noop("Playbook %(playbook)s: no alert drafted: %(detail)s"),
    "step.alert_approved": gettext_noop("Playbook %(playbook)s: alert approved by %(by)s."),
    "step.alert_published": gettext_noop("Playbook %(playbook)s: alert approved by %(by)s and published (%(alert)s)."),
    "step.alert_not_approved": gettext_noop("Playbook %(playbook)s: alert of step %(step)s not approved in time."),
    # Closing an incident (issue 19): what the engine ended, and what stays (docs/playbooks.md).
    "step.alert_issued_by_hand": gettext_noop(
        "Playbook %(playbook)s: the alert “%(alert)s” issued by %(by)s stands for the playbook's alert."),
    "step.alert_issued_by_hand_draft_discarded": gettext_noop(
        "Playbook %(playbook)s: the alert “%(alert)s” issued by %(by)s stands for the playbook's alert; "
        "its own draft was discarded, not issued."),
    "step.alert_draft_discarded": gettext_noop(
        "Playbook %(playbook)s: its alert draft “%(alert)s” was discarded, not issued (the incident is %(status)s)."),
    "run.acks_withdrawn": gettext_noop(
        "Playbook %(playbook)s: acknowledgements still awaited from %(jurisdictions)s withdrawn."),
    "closing.command_closed": gettext_noop("Joint command closed: the incident is %(status)s."),
    "closing.command_closed_with_tasks": gettext_noop(
        "Joint command closed: the incident is %(status)s. Tasks left open were cancelled: %(tasks)s."),
    "closing.aid_withdrawn": gettext_noop("The incident is %(status)s: mutual-aid requests withdrawn: %(requests)s."),
    "closing.aid_still_out": gettext_noop(
        "The incident is %(status)s: still out until returned: %(items)s."),
    "closing.aid_request": gettext_noop("%(quantity)s × %(resource_type)s for %(requester)s"),
    "closing.aid_lent": gettext_noop("%(quantity)s × %(resource_type)s lent by %(jurisdiction)s"),
    "closing.alerts_active": gettext_noop(
        "The incident is %(status)s; these alerts are still active, not cancelled: %(alerts)s. The all-clear is "
        "their sender's to issue (a Cancel or an Update)."),
    # Acknowledgements and escalation.
    "ack.received": gettext_noop("%(jurisdiction)s acknowledged."),
    "ack.received_late": gettext_noop("%(jurisdiction)s acknowledged (after the deadline)."),
    "ack.comment": gettext_noop("%(jurisdiction)s, on acknowledging: \u201c%(comment)s\u201d"),
    "ack.overdue": gettext_noop("%(jurisdiction)s has not acknowledged by the deadline."),
    "escalation.duty_officers": gettext_noop(
        "Escalated to the duty officers of %(jurisdiction)s (stage %(stage)s): %(reason)s"),
    "escalation.circle_lead": gettext_noop(
        "Escalated to %(jurisdiction)s, lead city of the metropolitan circle (stage %(stage)s): %(reason)s"),
    "escalation.committee": gettext_noop("Escalated to the cluster committee %(body)s (stage %(stage)s): %(reason)s"),
    # Who escalation passed over (escalation.chain_stages: never the reporter, never the silent one itself).
    "escalation.skipped_circle_lead_reporter": gettext_noop(
        "%(jurisdiction)s, lead city of the metropolitan circle, is not asked: it reported the incident; "
        "escalation goes on to the next stage."),
    "escalation.skipped_circle_lead_addressee": gettext_noop(
        "%(jurisdiction)s, lead city of the metropolitan circle, is not asked: its own acknowledgement is the one "
        "missing; escalation goes on to the next stage."),
    "escalation.skipped_convener_reporter": gettext_noop(
        "%(jurisdiction)s, convener of %(body)s, is not asked in the body's place: it reported the incident; "
        "the body's officers answer."),
    "escalation.skipped_convener_addressee": gettext_noop(
        "%(jurisdiction)s, convener of %(body)s, is not asked in the body's place: its own acknowledgement is the "
        "one missing; the body's officers answer."),
    "ack.received_for_body": gettext_noop("%(body)s acknowledged in place of %(jurisdiction)s."),
    # Who a request's messages reach (coordination.notify.services.notify_for_acknowledgement).
    "notify.no_roster": gettext_noop(
        "No duty roster covers %(jurisdiction)s now: its commanders and operators were notified."),
    "notify.nobody_reachable": gettext_noop(
        "Nobody of %(jurisdiction)s could be notified: no one on duty has a contact method."),
    "notify.no_body_roster": gettext_noop(
        "No duty roster covers %(body)s now: the officers seated on it were notified."),
    "notify.body_nobody_reachable": gettext_noop(
        "Nobody of %(body)s could be notified: none of its officers on duty has a contact method."),
    # Person by person (coordination.notify.escalation): who is reached at each wave.
    "notify.waves": gettext_noop("%(jurisdiction)s is reached person by person: %(waves)s."),
    "notify.wave_primary": gettext_noop("the duty primary %(person)s notified at once"),
    "notify.wave_backup": gettext_noop("the backup %(person)s %(minutes)s minutes later"),
    "notify.wave_head": gettext_noop("the bureau's head %(people)s %(minutes)s minutes later"),
    "notify.wave_backup_first": gettext_noop("the backup %(person)s notified at once"),
    "notify.no_contact": gettext_noop(
        "%(jurisdiction)s: %(people)s passed over at once (no contact method); the next person is reached instead."),
    # Joint command and tasks.
    "command.opened": gettext_noop("Joint command opened by %(by)s, led by %(lead)s, with %(participants)s."),
    "command.opened_by_playbook": gettext_noop(
        "Joint command opened by playbook %(playbook)s, led by %(lead)s, with %(participants)s."),
    "command.log": gettext_noop("Joint command log: %(text)s"),
    "command.closed": gettext_noop("Joint command closed."),
    "task.assigned": gettext_noop("Task for %(assignee)s: %(title)s"),
    "task.assigned_due": gettext_noop("Task for %(assignee)s: %(title)s (due %(due)s)"),
    "task.moved": gettext_noop("Task “%(title)s” (%(assignee)s): %(from_status)s → %(to_status)s."),
    # Joint meetings.
    "meeting.convened": gettext_noop("Joint meeting “%(title)s” convened for %(when)s."),
    "meeting.decided": gettext_noop("Joint meeting decided: %(text)s"),
    "meeting.decided_with_tasks": gettext_noop("Joint meeting decided: %(text)s Tasks — %(tasks)s."),
    "meeting.held": gettext_noop("Joint meeting “%(title)s” held."),
    "meeting.cancelled": gettext_noop("Joint meeting “%(title)s” cancelled."),
    # Parts of other notes: why a run stopped or an escalation was raised, one task of a list.
    "reason.incident_status": gettext_noop("the incident is %(status)s"),
    "reason.cancelled_by": gettext_noop("cancelled by %(by)s"),
    "reason.playbook_level": gettext_noop("playbook %(playbook)s, level %(level)s"),
    "reason.not_acknowledged": gettext_noop("%(jurisdiction)s has not acknowledged (asked at %(asked_at)s)"),
    "task.item": gettext_noop("%(assignee)s: %(title)s"),
}

# What a parameter holds, by its name (the same name means the same kind in every note).
# Parameters not named here are shown as they are: numbers, free text an officer or a
# playbook wrote, a {"zh": …, "en": …} pair, a nested note or a list of notes.
PARAM_KINDS: dict[str, str] = {
    "playbook": "playbook",  # a playbook's code (a reader shows its name)
    "jurisdiction": "place",  # a jurisdiction's GB/T 2260 code
    "lead": "place",
    "convener": "place",
    "assignee": "place",
    "requester": "place",
    "jurisdictions": "places",  # a list of codes
    "participants": "places",
    "body": "body",  # a coordination body's code
    "due": "time",  # ISO 8601, in the cluster's time zone
    "when": "time",
    "asked_at": "time",
    "status": "incident_status",
    "from_status": "task_status",
    "to_status": "task_status",
    "resource_type": "resource_type",  # a code of the mutual-aid catalogue
    "level": "level",
}

NAMES: dict[str, str] = {
    "joint_command": gettext_noop("Joint command: %(title)s"),
    "joint_meeting": gettext_noop("Joint meeting: %(title)s"),
    "situation": gettext_noop("Situation: %(title)s"),
    "aid_description": gettext_noop("Requested by playbook %(playbook)s."),
}


@dataclass(frozen=True)
class Note:
    """What a timeline entry says: a code of NOTES and its parameters (plain JSON values,
    nested Notes or lists of them)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.code not in NOTES:
            raise KeyError(f"no timeline note {self.code!r} (coordination.workflows.timeline.NOTES)")

    def with_params(self, **params: Any) -> "Note":
        return Note(self.code, {**params, **self.params})

    @property
    def text(self) -> str:
        """The note in English (the entry's `text`, for API clients)."""
        return english(self.code, self.params)

    def as_data(self) -> dict:
        """The note as the entry's `data` keeps it (JSON)."""
        return {"code": self.code, "params": {name: _json(value) for name, value in self.params.items()}}

    def __str__(self) -> str:
        return self.text


def _json(value: Any) -> Any:
    if isinstance(value, Note):
        return value.as_data()
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return value


def english(code: str, params: Mapping[str, Any]) -> str:
    return NOTES[code] % {name: _english(value) for name, value in params.items()}


def _english(value: Any) -> str:
    if isinstance(value, Note):
        return value.text
    if isinstance(value, Mapping) and "code" in value:
        return english(value["code"], value.get("params") or {})
    if isinstance(value, Mapping) and "en" in value:
        return str(value["en"])
    if isinstance(value, (list, tuple)):
        notes = any(isinstance(item, (Note, Mapping)) for item in value)
        return ("; " if notes else ", ").join(_english(item) for item in value)
    return str(value)


def default_name(kind: str, **params: Any) -> str:
    """The English name the workflows give a row they open (at most 200 characters)."""
    return (NAMES[kind] % params)[:200]


def _name_pattern(template: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", template)
    pattern = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.*)" for n, part in enumerate(parts))
    return re.compile(pattern, re.DOTALL)


_NAME_PATTERNS = {kind: _name_pattern(template) for kind, template in NAMES.items()}


def name_parts(name: str) -> tuple[str, dict[str, str]] | None:
    """(kind, params) when `name` is one of the default names, else None."""
    for kind, pattern in _NAME_PATTERNS.items():
        match = pattern.fullmatch(name or "")
        if match:
            return kind, match.groupdict()
    return None


def timeline_note(*, incident: str, note: Note, at: datetime, actor: Principal | None = None,
                  data: dict | None = None) -> None:
    """Append `note` to the timeline of the incident with public id `incident`; `actor` None
    is the engine acting on its own."""
    from incidents.models import Incident, TimelineKind
    from incidents.services import incident_timeline_record

    pk = _incident_pk(incident)
    if pk is None:
        logger.warning("timeline note for unknown incident %s dropped: %s", incident, note.text)
        return
    incident_timeline_record(incident=Incident(pk=pk, public_id=incident), kind=TimelineKind.WORKFLOW,
                             text=note.text, actor=actor, data={**(data or {}), **note.as_data()}, at=at)


# An incident's public id names one row for good (it is made from the row's number), so the
# lookup is kept: a run writes a dozen notes on the same incident.
_pks: dict[str, int] = {}


def _incident_pk(public_id: str) -> int | None:
    if public_id not in _pks:
        from incidents.models import Incident

        pk = Incident.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
        if pk is None:
            return None
        if len(_pks) > 10_000:
            _pks.clear()
        _pks[public_id] = pk
    return _pks[public_id]
