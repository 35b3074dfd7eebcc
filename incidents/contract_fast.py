"""The fast twin of the report's input serializer: a report's fields checked without DRF's
field machinery, from the limits incidents.contract declares.

A city system's report is nearly always plain: strings, numbers, a circle or a polygon. DRF
checks it field by field through a dozen Field objects and two nested serializers, which was
the largest cost of a bulk of 500 after the one INSERT (about 60 of 220 µs per report). The
checks below accept only what the API's IncidentInput plainly accepts and give the same data;
anything else (every refusal, and the unusual forms DRF accepts, such as numbers for text or
"true" for a boolean) goes through IncidentInput itself (incidents.api.serializers.incident_input),
so every problem a caller sees is DRF's own. tests/incidents/test_contract.py feeds this twin
and the serializer the same valid and invalid reports and holds them to the same answers: the
same data, or a refusal naming the same field.
"""

import math
import re
from datetime import datetime

from config.times import OutOfRange, instant
from incidents import contract
from incidents.catalogue import ALL_TYPES

PLAIN_LINE = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")  # no_control_characters, no surrogates
PLAIN_TEXT = re.compile(r"[^\x00\ud800-\udfff]*")  # DRF refuses NUL and lone surrogates in any text
REPORT_FIELDS = frozenset(contract.REPORT_FIELDS)
CATEGORIES, LEVELS = frozenset(contract.CATEGORIES), frozenset(contract.LEVELS)
CASUALTY_FIGURES = frozenset(contract.CASUALTY_FIGURES)


class NotPlain(Exception):
    """The report is not plainly valid: `field` names the first field found that is not (or
    None when the report is no object). The serializer then has the last word."""

    def __init__(self, field: str | None):
        super().__init__(field)
        self.field = field


def plain_report(data) -> dict | None:
    """The report's validated data when every field is plainly valid, else None (ask DRF)."""
    try:
        return plain_report_checked(data)
    except NotPlain:
        return None


def plain_report_checked(data) -> dict:
    """The report's validated data when every field is plainly valid; NotPlain naming the first
    field that is not."""
    if not isinstance(data, dict):
        raise NotPlain(None)
    unknown = data.keys() - REPORT_FIELDS
    if unknown:
        raise NotPlain(min(unknown))
    for name in contract.REQUIRED_REPORT_FIELDS:
        if name not in data:
            raise NotPlain(name)
    report = {
        "title": _plain_text("title", data["title"], contract.TITLE_MAX_LENGTH, PLAIN_LINE),
        "category": _plain_choice("category", data["category"], CATEGORIES),
        "type": _plain_choice("type", data["type"], ALL_TYPES),
        "level": _plain_choice("level", data["level"], LEVELS),
        "occurred_at": _plain_time("occurred_at", data["occurred_at"]),
        "location": _plain_location(data["location"]),
    }
    if "description" in data:
        report["description"] = _plain_text(
            "description", data["description"], contract.DESCRIPTION_MAX_LENGTH, PLAIN_TEXT, blank=""
        )
    # The serializer's order of fields, for a caller that reads them in order.
    report = {name: report[name] for name in contract.REPORT_FIELDS if name in report}
    if "affected_area" in data:
        report["affected_area"] = data["affected_area"]  # any JSON; incidents.areas checks it
    if "casualties" in data:
        report["casualties"] = _plain_casualties(data["casualties"])
    for name in ("casualty_details", "contacts"):
        if name in data:
            if data[name] != []:
                raise NotPlain(name)  # personal data: rare enough for DRF to check each entry
            report[name] = []
    if "external_id" in data:
        report["external_id"] = _plain_text(
            "external_id", data["external_id"], contract.EXTERNAL_ID_MAX_LENGTH, PLAIN_LINE
        )
    if "exercise" in data:
        if type(data["exercise"]) is not bool:
            raise NotPlain("exercise")
        report["exercise"] = data["exercise"]
    return report


def _plain_text(name: str, value, max_length: int, allowed: re.Pattern, blank: str | None = None) -> str:
    """A CharField's value (trimmed), when it is plainly valid."""
    if type(value) is not str:
        raise NotPlain(name)
    value = value.strip()
    if not value:
        if blank is None:
            raise NotPlain(name)
        return blank
    if len(value) > max_length or not allowed.fullmatch(value):
        raise NotPlain(name)
    return value


def _plain_choice(name: str, value, choices: frozenset[str]) -> str:
    if type(value) is not str or value not in choices:
        raise NotPlain(name)
    return value


def _plain_time(name: str, value) -> datetime:
    """The time as DRF's DateTimeField reads it: Django's parse_datetime tries `fromisoformat`
    first, and the field, config.serializers.InstantField, applies config.times' rule (a naive
    time read in the current time zone), at a tenth of the cost."""
    if type(value) is not str:
        raise NotPlain(name)
    try:
        return instant(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OutOfRange):
        raise NotPlain(name) from None


def _plain_number(name: str, value, bound: float) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not -bound <= value <= bound:
        raise NotPlain(name)
    return float(value)


def _plain_location(value) -> dict:
    if type(value) is not dict:
        raise NotPlain("location")
    if value.keys() != {"lat", "lon"}:
        missing_or_unknown = sorted(value.keys() ^ {"lat", "lon"})
        raise NotPlain(f"location.{missing_or_unknown[0]}")
    return {
        "lat": _plain_number("location.lat", value["lat"], contract.MAX_LATITUDE),
        "lon": _plain_number("location.lon", value["lon"], contract.MAX_LONGITUDE),
    }


def _plain_casualties(value) -> dict:
    if type(value) is not dict:
        raise NotPlain("casualties")
    for name, count in value.items():
        if name not in CASUALTY_FIGURES:
            raise NotPlain(f"casualties.{name}")
        if type(count) is not int or not 0 <= count <= contract.MAX_COUNT:
            raise NotPlain(f"casualties.{name}")
    return {name: value[name] for name in contract.CASUALTY_FIGURES if name in value}
