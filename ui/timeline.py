"""An incident's timeline, and the names the playbooks give what they open, in the officer's
language.

Entries say what happened in English (`text`, what API clients read). The UI writes them anew:

- a playbook's entry from its message code and parameters (`data`, the registry in
  coordination.workflows.timeline): codes become names, times the cluster's, in the officer's
  language;
- a mutual-aid entry from its message code and parameters the same way (the registry in
  sharing.mutualaid.timeline): jurisdiction names, resource and unit words, the officer's
  date format;
- an alert's entry (`data.alert`) from the alert itself, as the officer may see it: an entry
  about an alert the officer may not see (another jurisdiction's draft) is left out;
- any other entry as written (an officer's words, or an older entry without a code: mutual
  aid's entries written before they kept one read in English, as stored).
"""

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination.principals import Principal
from coordination.selectors import cluster_list
from coordination.workflows.models import TaskStatus
from coordination.workflows.runs import ENGINE
from coordination.workflows.timeline import NAMES, NOTES, PARAM_KINDS, name_parts
from incidents.alerts import selectors as alert_selectors
from incidents.alerts.models import Alert
from incidents.lifecycle import Status
from incidents.models import TimelineEntry, TimelineKind
from sharing.mutualaid import timeline as aid_timeline
from ui import labels, registry
from ui.dates import when

# What an alert's entry says, by the message it was about (the drafting of an Alert, then
# its approval; an Update or a Cancel is issued at once).
ALERT_LINES = {
    "drafted": gettext_lazy("Alert %(identifier)s drafted (%(scope)s); awaiting approval."),
    "issued": gettext_lazy("Alert %(identifier)s issued (%(scope)s): %(headline)s"),
    "Update": gettext_lazy("Update %(identifier)s issued (%(scope)s): %(headline)s"),
    "Cancel": gettext_lazy("Cancellation %(identifier)s issued: the alert is cancelled."),
}


@dataclass(frozen=True)
class Line:
    entry: TimelineEntry
    text: str
    href: str = ""

    @property
    def author(self) -> str:
        return author_name(self.entry.author)


# How the playbook engine signs what it does for a jurisdiction (coordination.workflows.steps).
ENGINE_LABEL = re.compile(rf"{re.escape(ENGINE)} \((?P<playbook>[^()]*)\)")


def author_name(author: str) -> str:
    """Who wrote an entry, as the officer reads it: the playbook engine's English label
    ("Liandong playbook engine (cross-border-flood-typhoon)") as the playbook's name; a
    person's or a city system's name as it is."""
    match = ENGINE_LABEL.fullmatch(author or "")
    if match:
        return _("Playbook “%(playbook)s”") % {"playbook": registry.name_of("playbook", match["playbook"])}
    if author == ENGINE:
        return _("Liandong (automatic)")
    return author


def timeline_lines(*, principal: Principal, entries: Iterable[TimelineEntry]) -> list[Line]:
    """The entries (in order) as the officer reads them."""
    entries = list(entries)
    mentioned = {str(entry.data.get("alert")) for entry in entries
                 if entry.kind == TimelineKind.ALERT and entry.data.get("alert")}
    alerts = {}
    if mentioned:
        visible = alert_selectors.alert_list_visible_to(principal=principal).filter(pk__in=sorted(mentioned))
        alerts = {str(alert.pk): alert for alert in visible}
    lines, times_seen = [], Counter()
    for entry in entries:
        code = (entry.data or {}).get("code")
        if entry.kind == TimelineKind.ALERT and entry.data.get("alert"):
            alert_id = str(entry.data["alert"])
            times_seen[alert_id] += 1
            alert = alerts.get(alert_id)
            if alert is not None:
                lines.append(Line(entry, alert_line(alert, first=times_seen[alert_id] == 1),
                                  reverse("ui:alert", args=[alert.pk])))
        elif entry.kind == TimelineKind.MUTUAL_AID and code in aid_timeline.NOTES:
            lines.append(Line(entry, aid_text(code, entry.data.get("params") or {}, fallback=entry.text)))
        elif code in NOTES:
            lines.append(Line(entry, note_text(code, entry.data.get("params") or {}, fallback=entry.text)))
        else:
            lines.append(Line(entry, entry.text))
    return lines


# --- playbook notes ------------------------------------------------------------------------------------


def note_text(code: str, params: Mapping[str, Any], *, fallback: str = "") -> str:
    """A note of coordination.workflows.timeline in the officer's language; `fallback` (the
    entry's English) when its parameters do not fit the message (an entry written before a
    message changed)."""
    try:
        words = {name: _param(name, value) for name, value in params.items()}
        if isinstance(params.get("step"), str):
            words["step"] = _step(params.get("playbook"), params["step"])
        return _(NOTES[code]) % words
    except (KeyError, TypeError, ValueError):
        return fallback


def _step(playbook, step: str) -> str:
    """A step by its number and what it does ("6（等待）", "6 (Wait)"), not by its id (a code)."""
    found = registry.step_of(str(playbook or ""), step)
    if found is None:
        return step
    number, kind = found
    kind_name = labels.STEP_KINDS.get(kind, "")
    if not kind_name:
        return str(number)
    return f"{number}（{kind_name}）" if labels._zh() else f"{number} ({kind_name})"


def _separator(notes: bool) -> str:
    if labels._zh():
        return "；" if notes else "、"
    return "; " if notes else ", "


def aid_text(code: str, params: Mapping[str, Any], *, fallback: str = "") -> str:
    """A mutual-aid note (sharing.mutualaid.timeline) in the officer's language; `fallback`
    (the entry's English) when its parameters do not fit the message."""
    try:
        return _(aid_timeline.NOTES[code]) % {
            name: _param(name, value, aid_timeline.PARAM_KINDS) for name, value in params.items()}
    except (KeyError, TypeError, ValueError):
        return fallback


def _param(name: str, value: Any, kinds: Mapping[str, str] = PARAM_KINDS) -> str:
    if isinstance(value, Mapping) and "code" in value:
        return note_text(value["code"], value.get("params") or {}, fallback=str(value.get("code")))
    if isinstance(value, Mapping):
        return labels.name_of(value)
    if isinstance(value, list):
        notes = any(isinstance(item, Mapping) for item in value)
        return _separator(notes).join(_param(name, item, kinds) for item in value)
    kind = kinds.get(name)
    if isinstance(value, str) and value.startswith(ENGINE):
        return author_name(value)  # "paused by" the engine itself
    if value is None or kind is None:
        return "" if value is None else str(value)
    return KIND_WORDS[kind](str(value))


def _resource(code: str) -> str:
    rtype = registry.resource_type(code)
    return labels.name_of({"zh": rtype.name_zh, "en": rtype.name_en}, code) if rtype else code


def _cluster(code: str) -> str:
    cluster = cluster_list().filter(code=code).values_list("name_zh", "name_en", "name_zh_hant").first()
    return labels.name_of({"zh": cluster[0], "en": cluster[1], "zh-hant": cluster[2]}, code) if cluster else code


def _choice(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


KIND_WORDS = {
    "playbook": lambda code: registry.name_of("playbook", code),
    "place": registry.place_name,
    "places": registry.place_name,  # a list: each of its codes
    "body": lambda code: registry.name_of("body", code),
    "time": lambda value: when(value) or value,
    "incident_status": lambda value: _choice(Status, value),
    "task_status": lambda value: _choice(TaskStatus, value),
    "resource_type": lambda code: _resource(code),
    "unit": registry.unit_name,
    "cluster": _cluster,
    "level": lambda level: str(labels.LEVEL_SHORT.get(level, level)),
}


# --- alerts --------------------------------------------------------------------------------------------


def alert_line(alert: Alert, *, first: bool) -> str:
    """`first`: the alert's first entry (for an Alert, its drafting)."""
    if alert.msg_type == "Alert":
        template = ALERT_LINES["drafted" if first else "issued"]
    else:
        template = ALERT_LINES.get(alert.msg_type, ALERT_LINES["issued"])
    return str(template) % {"identifier": alert.identifier, "scope": labels.cap_word(alert.scope),
                            "headline": headline(alert)}


def headline(alert: Alert) -> str:
    """The headline in the officer's language (our alerts have a zh-CN and an en-US block)."""
    info = labels.in_my_language(list(alert.infos.all()))
    return (info.headline or info.event) if info else alert.identifier


# --- default names ------------------------------------------------------------------------------------


def local_name(name: str) -> str:
    """A name the playbooks gave ("Joint command: …") in the officer's language; any other
    name as it is."""
    parts = name_parts(name)
    if parts is None:
        return name
    kind, params = parts
    return _(NAMES[kind]) % {key: _param(key, value) for key, value in params.items()}


def name_words() -> list[dict[str, str]]:
    """The default names for the feed's script: each English template's text before and after
    its parameter (each has one), and the template in the officer's language."""
    words = []
    for template in NAMES.values():
        before, param, after = re.split(r"%\((\w+)\)s", template)
        words.append({"before": before, "after": after, "param": param, "local": _(template)})
    return words
