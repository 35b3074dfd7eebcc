"""CAP's textual encodings of structured values, both directions.

CAP 1.2 packs several structures into plain ``xs:string`` elements (a
polygon is "lat,lon lat,lon ...", references are "sender,identifier,sent"
triples, addresses are space-separated with quotes around multi-word
entries). The XSD cannot check them, so this module is where their rules
live. Every ``parse_*`` raises ``ValueError`` on text that breaks the rule;
every ``format_*`` raises ``ValueError`` on a value CAP cannot express.
"""

import math
import re
from datetime import datetime, timedelta
from decimal import Decimal

from .model import Circle, Point, Reference

_CAP_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
_DECIMAL = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_LIST_ENTRY = re.compile(r'"([^"]*)"|(\S+)')


def parse_datetime(text: str) -> datetime:
    """Read CAP's "2024-09-01T08:00:00+08:00"; the XSD collapses whitespace, so do we."""
    text = text.strip()
    if not _CAP_DATETIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a CAP date-time (YYYY-MM-DDThh:mm:ss+hh:mm)")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date and time") from None


def format_datetime(moment: datetime) -> str:
    """Write a date-time the way CAP 1.2 section 3.3.2 requires.

    Seconds precision (fractions are dropped, CAP has no place for them) and
    an explicit offset. A zero offset is written "-00:00": the spec says "The
    timezone for UTC MUST be represented as '-00:00'". Python's datetime
    cannot tell a received "+00:00" from "-00:00", so both come out as the
    form the spec asks for.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"CAP date-times need a UTC offset; {moment!r} is naive")
    if offset % timedelta(minutes=1):
        raise ValueError(f"CAP offsets are whole minutes; {moment!r} has {offset}")
    sign = "+" if offset > timedelta(0) else "-"
    hours, minutes = divmod(abs(offset) // timedelta(minutes=1), 60)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        f"{sign}{hours:02d}:{minutes:02d}"
    )


def parse_decimal(text: str) -> float:
    """Read a plain decimal number ("22.27", "-113.5", "0"); no exponents, NaN or infinity."""
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal number")
    return float(text)


def format_decimal(number: float) -> str:
    """The shortest text that reads back as the same float, without exponent (xs:decimal has none)."""
    number = float(number)
    if not math.isfinite(number):
        raise ValueError(f"{number!r} cannot be written in CAP")
    return format(Decimal(repr(number)), "f")


def _parse_point(text: str) -> Point:
    latitude, comma, longitude = text.partition(",")
    if not comma or "," in longitude:
        raise ValueError(f"{text!r} is not a lat,lon pair")
    return parse_decimal(latitude), parse_decimal(longitude)


def _format_point(point: Point) -> str:
    latitude, longitude = point
    return f"{format_decimal(latitude)},{format_decimal(longitude)}"


def parse_polygon(text: str) -> list[Point]:
    """Read "lat,lon lat,lon ..." (whitespace-separated WGS 84 pairs)."""
    return [_parse_point(pair) for pair in text.split()]


def format_polygon(points: list[Point]) -> str:
    if not points:
        raise ValueError("a polygon needs at least one point")
    return " ".join(_format_point(point) for point in points)


def parse_circle(text: str) -> Circle:
    """Read "lat,lon radius" (radius in kilometres)."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not 'lat,lon radius'")
    latitude, longitude = _parse_point(parts[0])
    return Circle(latitude, longitude, parse_decimal(parts[1]))


def format_circle(circle: Circle) -> str:
    latitude, longitude, radius_km = circle
    return f"{_format_point((latitude, longitude))} {format_decimal(radius_km)}"


def split_quoted_list(text: str) -> list[str]:
    """Read <addresses>/<incidents>: space-separated, multi-word entries in double quotes."""
    entries = []
    for quoted, bare in _LIST_ENTRY.findall(text):
        entry = quoted or bare
        if entry:
            entries.append(entry)
    return entries


def join_quoted_list(entries: list[str]) -> str:
    """Write <addresses>/<incidents>; quotes go around entries that contain whitespace."""
    written = []
    for entry in entries:
        if not entry or '"' in entry:
            raise ValueError(f"{entry!r} cannot be written in a CAP space-separated list")
        written.append(f'"{entry}"' if any(character.isspace() for character in entry) else entry)
    return " ".join(written)


def parse_references(text: str) -> list[Reference]:
    """Read <references>: whitespace-separated "sender,identifier,sent" triples."""
    references = []
    for triple in text.split():
        parts = triple.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError(f"{triple!r} is not a sender,identifier,sent triple")
        sender, identifier, sent = parts
        references.append(Reference(sender, identifier, parse_datetime(sent)))
    return references


def format_references(references: list[Reference]) -> str:
    triples = []
    for sender, identifier, sent in references:
        for part in (sender, identifier):
            if not part or "," in part or any(character.isspace() for character in part):
                raise ValueError(f"{part!r} cannot be written in a CAP reference (no commas or spaces)")
        triples.append(f"{sender},{identifier},{format_datetime(sent)}")
    return " ".join(triples)
