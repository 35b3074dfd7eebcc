"""CAP 1.2 alert messages as plain Python values.

The classes mirror the OASIS CAP 1.2 data dictionary one to one (element
names in snake_case) so that anyone who knows CAP can read them without a
mapping table. They are frozen: an alert that was received or issued is a
record, and changes are new messages (Update/Cancel), not edits.

Conventions that hold for every class:

* Optional text is ``None`` when the element is absent or empty; the
  renderer never writes an empty optional element.
* Repeated elements and CAP's space-separated lists are ``list``s, in
  document order; an empty list means "none".
* Date-times are timezone-aware ``datetime``s without fractional seconds,
  carrying the offset the message was written with (Zhuhai's ``+08:00``
  stays ``+08:00``).
* Codes such as ``status`` or ``urgency`` are the CAP strings themselves
  ("Actual", "Immediate"); the tuples below list the allowed values.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# An Update, Cancel, Ack or Error acts on earlier messages, and CAP 1.2
# (section 3.2.1, <msgType>) names <references> as the place that identifies
# them; such a message without references cannot be applied to anything.
MSG_TYPES_ACTING_ON_REFERENCES = frozenset({"Update", "Cancel", "Ack", "Error"})

DEFAULT_LANGUAGE = "en-US"
"""CAP 1.2 <language>: "If not present, an implicit default value of 'en-US' SHALL be assumed"."""


class Reference(NamedTuple):
    """One entry of <references>: the earlier message this one refers to."""

    sender: str
    identifier: str
    sent: datetime


class Circle(NamedTuple):
    """A <circle>: WGS 84 centre and radius in kilometres."""

    lat: float
    lon: float
    radius_km: float


class ValuePair(NamedTuple):
    """A <valueName>/<value> pair, as used by eventCode, parameter and geocode."""

    value_name: str
    value: str


Point = tuple[float, float]
"""A WGS 84 (latitude, longitude) pair, in CAP's order."""


@dataclass(frozen=True, kw_only=True)
class Resource:
    """An <info>/<resource>: a file (image, audio, map...) that goes with the alert."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True, kw_only=True)
class Area:
    """An <info>/<area>: where the alert applies.

    ``polygons`` and ``circles`` are read as written; whether a polygon is
    closed or has the four points CAP asks for is left to whoever turns it
    into geometry, so that one sloppy ring does not make a whole warning
    unreadable.
    """

    area_desc: str
    polygons: list[list[Point]] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)
    geocodes: list[ValuePair] = field(default_factory=list)
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True, kw_only=True)
class Info:
    """An <info> block: the alert in one language."""

    language: str = DEFAULT_LANGUAGE
    categories: list[str]
    event: str
    response_types: list[str] = field(default_factory=list)
    urgency: str
    severity: str
    certainty: str
    audience: str | None = None
    event_codes: list[ValuePair] = field(default_factory=list)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[ValuePair] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Alert:
    """A CAP 1.2 <alert> message.

    ``has_signature`` records whether the received document carried an
    enveloped XML signature (ds:Signature); whether that signature holds is
    :func:`verify_signature`'s question, and a rendered export never carries
    one.
    """

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    source: str | None = None
    scope: str
    restriction: str | None = None
    addresses: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    note: str | None = None
    references: list[Reference] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    infos: list[Info] = field(default_factory=list)
    has_signature: bool = False
