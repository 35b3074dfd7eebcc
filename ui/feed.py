"""The live event feed: events the officer may see, as one line each.

The page draws the latest ones (from the event log, through its selector: the visibility rule
and the redaction of withheld fields applied) and ui/static/ui/js/feed.js adds what the stream
sends after that, with the same words: feed_words() hands the script the labels, and
`summary` below and `summarise` in feed.js read an event's data the same way.
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.translation import get_language

from coordination.principals import Principal
from coordination.registry import registry as registry_snapshot
from coordination.workflows.texts import language_key, localized
from incidents.lifecycle import Status
from sharing.eventlog import newest_seq
from sharing.selectors import events_visible_to
from ui import labels, registry
from ui.timeline import local_name, name_words

# How far back the dashboard looks for its first lines: events are mostly visible to few
# jurisdictions, so this many behind the newest gives the latest FEED_LENGTH in practice.
FEED_LOOKBACK = 500
FEED_LENGTH = 30


@dataclass(frozen=True)
class FeedItem:
    seq: int
    at: datetime
    event: str
    label: str
    title: str
    level: str
    exercise: bool
    href: str
    jurisdiction: str
    status: str
    body: str = ""  # a request asked of a coordination body (`for_body`): the body's name


def _body(data: dict) -> str:
    code = data.get("for_body")
    return registry.name_of("body", code) if isinstance(code, str) and code else ""


def _href(event: str, data: dict) -> str:
    if event.startswith("incident."):
        return reverse("ui:incident", args=[data["id"]]) if data.get("id") else ""
    if event.startswith("alert.") and data.get("id"):
        return reverse("ui:alert", args=[data["id"]])
    if data.get("incident"):
        return reverse("ui:incident", args=[data["incident"]])
    if event.startswith(("resource_request.", "inventory.")):
        return reverse("ui:resources")
    if event.startswith(("meeting.", "joint_command.")):
        return reverse("ui:command")
    if event.startswith("agreement."):
        return reverse("ui:agreements")
    return ""


def _title(event: str, data: dict) -> str:
    if data.get("title_texts"):  # a task a playbook wrote in three languages
        return localized(data["title_texts"], get_language())
    if data.get("title"):
        return local_name(data["title"]) if event.startswith("meeting.") else data["title"]
    if event.startswith("workflow.step_") and isinstance(data.get("step"), dict):
        kind = data["step"].get("kind", "")
        return f"{labels.STEP_KINDS.get(kind, kind)} · {data.get('incident', '')}"
    if event.startswith("alert."):
        return _headline(data.get("info") or []) or data.get("identifier", "")
    if isinstance(data.get("entry"), dict) and data["entry"].get("text"):
        return data["entry"]["text"]
    if data.get("name"):
        return local_name(data["name"])
    if event.startswith("inventory.") and data.get("resource_type"):
        rtype = registry.resource_type(data["resource_type"])
        return labels.name_of({"zh": rtype.name_zh, "en": rtype.name_en}, data["resource_type"]) if rtype else ""
    return data.get("incident") or data.get("id") or ""


def _headline(infos: list[dict]) -> str:
    """An alert's headline from the block in the reader's language: its own script's, then any
    Chinese one for a Chinese reader, then the first (as labels.in_my_language, on the event's
    data; feed.js does the same with words.language)."""
    mine = language_key(get_language())

    def rank(info: dict) -> int:
        theirs = language_key(info.get("language"))
        return 0 if theirs == mine else 1 if theirs[:2] == mine[:2] else 2

    headlines = [info.get("headline") or info.get("event") for info in sorted(infos, key=rank)]
    return next((headline for headline in headlines if headline), "")


def summary(message: dict) -> FeedItem:
    data = message.get("data") or {}
    event = message["event"]
    return FeedItem(
        seq=message["seq"],
        at=datetime.fromisoformat(message["at"]),
        event=event,
        label=str(labels.EVENT_LABELS.get(event, event)),
        title=str(_title(event, data))[:200],
        level=data.get("level") if data.get("level") in labels.LEVEL_LABELS else "",
        exercise=bool(data.get("exercise")),
        href=_href(event, data),
        jurisdiction=data.get("jurisdiction") or "",
        # Other events' `status` is their own (an acknowledgement's, a run's), not the incident's.
        status=(data.get("status") or "") if event.startswith("incident.") else "",
        body=_body(data),
    )


def latest(*, principal: Principal, length: int = FEED_LENGTH) -> list[FeedItem]:
    """The newest events the principal may see, newest first."""
    since = max(0, newest_seq() - FEED_LOOKBACK)
    messages = events_visible_to(principal=principal, since=since, limit=FEED_LOOKBACK)
    return [summary(message) for message in reversed(messages[-length:])]


def feed_words(*, principal: Principal) -> dict:
    """The words feed.js needs, in the officer's language (rendered into the page as JSON)."""
    places = {place.code: place.name for cluster in principal.clusters for place in registry.members(cluster)}
    return {
        "places": places,
        "bodies": {code: registry.name_of("body", code) for code in registry_snapshot().bodies},
        "statuses": {code: str(label) for code, label in Status.choices},
        "steps": {kind: str(label) for kind, label in labels.STEP_KINDS.items()},
        "resources": {code: labels.name_of({"zh": rtype.name_zh, "en": rtype.name_en}, code)
                      for code, rtype in registry.resource_types().items()},
        "events": {name: str(label) for name, label in labels.EVENT_LABELS.items()},
        "levels": {level: str(label) for level, label in labels.LEVEL_SHORT.items()},
        "exercise": str(labels.EXERCISE_WORD),
        "names": name_words(),
        # Which text of a playbook's {"zh-hans": …, "zh-hant": …, "en": …} the reader reads
        # (a task's title_texts; coordination.workflows.texts.localized, which feed.js follows).
        "language": language_key(get_language()),
        "urls": {
            "incident": reverse("ui:incident", args=["INCIDENT"]),
            "alert": reverse("ui:alert", args=["00000000-0000-0000-0000-000000000000"]),
            "resources": reverse("ui:resources"),
            "command": reverse("ui:command"),
            "agreements": reverse("ui:agreements"),
        },
    }
