"""Alerts about an incident, written as CAP 1.2 messages: what Liandong says when it issues one.

Pure: the incident's facts in, a `cap.Alert` out (incidents.alerts.issuing stores, renders
and publishes it). The terms come from the one table in incidents.alerts.mapping; every
message has an info block per language over the same area: zh-CN and en-US always, and zh-HK or
zh-MO (Traditional Chinese) when the issuer wrote one (incidents.alerts.languages: offered, empty,
when Hong Kong or Macao issues or is affected; never converted from zh-CN by machine). The
area: the incident's affected area as a <polygon> (each outer ring of a GeoJSON Polygon or
MultiPolygon; CAP has no holes, so a warning area covers them) or a <circle>, or its location
as a point (radius 0) when it has none, and every affected jurisdiction as a GB/T 2260 <geocode>.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from incidents.alerts import cap
from incidents.alerts.mapping import cap_terms
from incidents.catalogue import TYPES
from incidents.models import Incident

# Every language an issuer may write, in the order of the <info> blocks; the first and last are
# always written (from the incident when the issuer leaves them empty), the Traditional ones
# only when the issuer wrote them.
LANGUAGES = ("zh-CN", "zh-HK", "zh-MO", "en-US")
ALWAYS_WRITTEN = ("zh-CN", "en-US")
GEOCODE_VALUE_NAME = "GB/T 2260"  # what incidents.alerts.areas reads back (docs/cap.md)
# Our own codes beside CAP's terms, so a receiver that knows them reads our level and type.
LEVEL_CODE, TYPE_CODE = "LIANDONG:level", "LIANDONG:type"

# GB/T 35965.1 signal colours of the four levels.
SIGNAL = {
    "I": ("红色", "Red"),
    "II": ("橙色", "Orange"),
    "III": ("黄色", "Yellow"),
    "IV": ("蓝色", "Blue"),
}
EXERCISE_MARK = {"zh-CN": "【演练】", "zh-HK": "【演練】", "zh-MO": "【演練】", "en-US": "[EXERCISE] "}
# CAP 1.2 meant <note> for what an Exercise message is about.
EXERCISE_NOTE = "演练，非真实事件。Exercise: not a real incident."
DEFAULT_INSTRUCTION = {
    "zh-CN": "请关注官方发布的信息，听从现场指挥和工作人员的安排。",
    "zh-HK": "請關注官方發佈的信息，聽從現場指揮和工作人員的安排。",
    "zh-MO": "請關注官方發佈的信息，聽從現場指揮和工作人員的安排。",
    "en-US": "Follow official information and the instructions of responders on site.",
}
CANCELLED_MARK = {"zh-CN": "解除：", "zh-HK": "解除：", "zh-MO": "解除：", "en-US": "Cancelled: "}
DEFAULT_CANCEL_TEXT = {
    "zh-CN": "此前发布的预警已解除。",
    "zh-HK": "此前發佈的預警已解除。",
    "zh-MO": "此前發佈的預警已解除。",
    "en-US": "The alert issued earlier is cancelled.",
}


# Characters XML 1.0 cannot carry (an incident's description accepts them; CAP cannot).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class Wording:
    """The text of one info block a caller wrote; None: our default for the incident."""

    headline: str | None = None
    description: str | None = None
    instruction: str | None = None


@dataclass(frozen=True)
class Terms:
    """What a caller chooses about an alert; the rest follows from the incident."""

    scope: str = "Public"
    restriction: str | None = None
    addresses: list[str] = field(default_factory=list)
    response_types: list[str] = field(default_factory=list)
    expires: datetime | None = None
    contact: str | None = None
    web: str | None = None
    note: str | None = None
    wording: dict[str, Wording] = field(default_factory=dict)  # by language


@dataclass(frozen=True)
class AffectedNames:
    """The incident's place: its affected jurisdictions (code → zh and en names) and shape."""

    names: dict[str, tuple[str, str]]
    owner_names: tuple[str, str]


# Our own senders are "liandong:<jurisdiction code>"; incidents.alerts.senders reserves them for
# the jurisdiction they name, whatever the sender registry says.
OWN_SENDER_PREFIX = "liandong:"


def sender_for(jurisdiction: str) -> str:
    """The CAP <sender> of the alerts a jurisdiction issues through Liandong."""
    return f"{OWN_SENDER_PREFIX}{jurisdiction}"


def identifier_for(incident: Incident, number: int) -> str:
    """The n-th message about an incident (drafts, updates and cancellations all count)."""
    return f"{incident.public_id}-A{number}"


def cap_moment(moment: datetime, zone) -> datetime:
    """A CAP date-time: seconds precision, in the cluster's offset."""
    return moment.astimezone(zone).replace(microsecond=0)


def incident_area(incident: Incident, place: AffectedNames, language: str) -> cap.Area:
    codes = sorted(place.names)
    chinese = language.startswith("zh")
    names = [place.names[code][0 if chinese else 1] for code in codes]
    polygons, circles = [], []
    area = incident.affected_area
    if area and "circle" in area:
        circle = area["circle"]
        circles.append(cap.Circle(circle["lat"], circle["lon"], circle["radius_m"] / 1000))
    elif area and area.get("type") == "Polygon":
        polygons.append(_ring(area["coordinates"][0]))
    elif area and area.get("type") == "MultiPolygon":
        polygons.extend(_ring(polygon[0]) for polygon in area["coordinates"])
    else:
        circles.append(cap.Circle(incident.location_lat, incident.location_lon, 0.0))
    return cap.Area(
        area_desc=("、" if chinese else ", ").join(names),
        polygons=polygons,
        circles=circles,
        geocodes=[cap.ValuePair(GEOCODE_VALUE_NAME, code) for code in codes],
    )


def _ring(positions: list) -> list[tuple[float, float]]:
    """A GeoJSON ring ([lon, lat] positions) as a closed CAP polygon ((lat, lon) pairs)."""
    points = [(float(lat), float(lon)) for lon, lat, *_ in positions]
    if points[0] != points[-1]:
        points.append(points[0])
    return points


def _headline(incident: Incident, place: AffectedNames, language: str) -> str:
    type_label = TYPES[incident.category][incident.type]
    colour_zh, colour_en = SIGNAL[incident.level]
    if language.startswith("zh"):
        return f"{place.owner_names[0]}{type_label.zh}{colour_zh}预警"
    return f"{colour_en} warning: {type_label.en}, {place.owner_names[1]}"


def _description(incident: Incident, place: AffectedNames, language: str, zone) -> str:
    occurred = cap_moment(incident.occurred_at, zone).strftime("%Y-%m-%d %H:%M")
    codes = sorted(place.names)
    colour_zh, colour_en = SIGNAL[incident.level]
    if language.startswith("zh"):
        where = "、".join(place.names[code][0] for code in codes)
        facts = (f"{incident.title}。发生时间：{occurred}；影响范围：{where}；"
                 f"事件级别：{incident.level}级（{colour_zh}）。")
    else:
        where = ", ".join(place.names[code][1] for code in codes)
        facts = (f"{incident.title}. Occurred {occurred}; affecting {where}; "
                 f"level {incident.level} ({colour_en.lower()}).")
    text = f"{facts}\n{incident.description}" if incident.description else facts
    return xml_text(text)


def incident_message(
    *, incident: Incident, place: AffectedNames, terms: Terms, identifier: str, sender: str, sent: datetime,
    msg_type: str, references: list[cap.Reference], zone,
) -> cap.Alert:
    """An Alert or Update message about the incident as it is now."""
    mapped = cap_terms(category=incident.category, level=incident.level, type=incident.type)
    type_label = TYPES[incident.category][incident.type]
    infos = []
    for language in LANGUAGES:
        wording = terms.wording.get(language, Wording())
        if language not in ALWAYS_WRITTEN and wording == Wording():
            continue  # a Traditional block nobody wrote: not made up from the Simplified one
        chinese = language.startswith("zh")
        mark = EXERCISE_MARK[language] if incident.exercise else ""
        infos.append(cap.Info(
            language=language,
            categories=[mapped.category],
            event=type_label.zh if chinese else type_label.en,
            response_types=list(terms.response_types),
            urgency=mapped.urgency,
            severity=mapped.severity,
            certainty=mapped.certainty,
            event_codes=[cap.ValuePair(LEVEL_CODE, incident.level), cap.ValuePair(TYPE_CODE, incident.type)],
            onset=cap_moment(incident.occurred_at, zone),
            expires=cap_moment(terms.expires, zone) if terms.expires else None,
            sender_name=place.owner_names[0 if chinese else 1],
            headline=mark + (wording.headline or _headline(incident, place, language)),
            description=wording.description or _description(incident, place, language, zone),
            instruction=wording.instruction or DEFAULT_INSTRUCTION[language],
            web=terms.web,
            contact=terms.contact,
            areas=[incident_area(incident, place, language)],
        ))
    return cap.Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status="Exercise" if incident.exercise else "Actual",
        msg_type=msg_type,
        scope=terms.scope,
        restriction=terms.restriction if terms.scope == "Restricted" else None,
        addresses=list(terms.addresses) if terms.scope == "Private" else [],
        note=terms.note or (EXERCISE_NOTE if incident.exercise else None),
        references=references,
        incidents=[incident.public_id],
        infos=infos,
    )


def cancel_message(*, cancelled: cap.Alert, identifier: str, sent: datetime, note: str | None) -> cap.Alert:
    """A Cancel of an issued message: its info blocks over the same areas, marked as cancelled."""
    infos = []
    for info in cancelled.infos:
        language = info.language if info.language in CANCELLED_MARK else "en-US"
        infos.append(replace(
            info,
            response_types=["AllClear"],
            headline=CANCELLED_MARK[language] + (info.headline or info.event),
            description=note or DEFAULT_CANCEL_TEXT[language],
            instruction=None,
        ))
    return replace(
        cancelled,
        identifier=identifier,
        sent=sent,
        msg_type="Cancel",
        note=note,
        references=chain(cancelled),
        infos=infos,
    )


def chain(message: cap.Alert) -> list[cap.Reference]:
    """The references of a message that replaces `message`: what it named, and itself, so a
    receiver that missed a link of the chain still learns everything it replaces."""
    own = cap.Reference(message.sender, message.identifier, message.sent)
    return [*(reference for reference in message.references if reference[:2] != own[:2]), own]
