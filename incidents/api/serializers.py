"""Input serializers shape what callers send (types, lengths, ranges); the rules are in
incidents.services. Output serializers document what the API answers: the data itself is
built by incidents.payloads (the same dicts the events carry), and a test keeps the two equal.
"""

import math
import re
from datetime import datetime

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import InstantField, StrictInput, validated
from config.times import instant
from incidents.catalogue import ALL_TYPES, TYPE_CHOICES, Category
from incidents.lifecycle import Status
from incidents.models import TimelineKind
from sharing.models import Level

no_control_characters = RegexValidator(r"^[^\x00-\x1f\x7f]*$", "Control characters are not allowed.")


class NumberField(serializers.FloatField):
    """A JSON number: not a string, not a boolean, not NaN or infinity."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class CountField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=100_000_000, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class LocationInput(StrictInput):
    lat = NumberField(min_value=-90, max_value=90)
    lon = NumberField(min_value=-180, max_value=180)


class CasualtiesInput(StrictInput):
    deaths = CountField(required=False)
    injured = CountField(required=False)
    missing = CountField(required=False)
    evacuated = CountField(required=False)


class CasualtyDetailInput(StrictInput):
    """Personal data of one casualty: withheld from other jurisdictions by default."""

    name = serializers.CharField(max_length=100, required=False, validators=[no_control_characters])
    gender = serializers.ChoiceField(choices=["female", "male", "unknown"], required=False)
    age = serializers.IntegerField(min_value=0, max_value=150, required=False)
    condition = serializers.ChoiceField(choices=["dead", "injured", "missing", "evacuated"])
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ContactInput(StrictInput):
    name = serializers.CharField(max_length=100, validators=[no_control_characters])
    role = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.RegexField(r"^\+?[0-9][0-9 ()-]{2,38}$", max_length=40)


AFFECTED_AREA_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "description": "GeoJSON Polygon or MultiPolygon (WGS84, [lon, lat])",
            "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                           "coordinates": {"type": "array", "items": {}}},
            "required": ["type", "coordinates"],
        },
        {
            "type": "object",
            "properties": {"circle": {"type": "object", "properties": {
                "lat": {"type": "number"}, "lon": {"type": "number"}, "radius_m": {"type": "number"}}}},
            "required": ["circle"],
        },
    ],
    "nullable": True,
}


@extend_schema_field(AFFECTED_AREA_SCHEMA)
class AffectedAreaField(serializers.JSONField):
    """Checked by incidents.areas (shape, closed rings, validity, vertices, radius)."""


class IncidentInput(StrictInput):
    title = serializers.CharField(max_length=200, validators=[no_control_characters])
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    type = serializers.ChoiceField(choices=TYPE_CHOICES)
    level = serializers.ChoiceField(choices=Level.choices)
    occurred_at = InstantField()
    location = LocationInput()
    affected_area = AffectedAreaField(required=False, allow_null=True)
    casualties = CasualtiesInput(required=False)
    casualty_details = serializers.ListField(child=CasualtyDetailInput(), max_length=1000, required=False)
    contacts = serializers.ListField(child=ContactInput(), max_length=50, required=False)
    external_id = serializers.CharField(max_length=100, required=False, validators=[no_control_characters])
    exercise = serializers.BooleanField(required=False)


# --- a report's fields checked without DRF's field machinery -----------------------------------
# A city system's report is nearly always plain: strings, numbers, a circle or a polygon. DRF
# checks it field by field through a dozen Field objects and two nested serializers, which was
# the largest cost of a bulk of 500 after the one INSERT (about 60 of 220 µs per report). The
# checks below accept only what IncidentInput plainly accepts and give the same data; anything
# else (every refusal, and the unusual forms DRF accepts, such as numbers for text or "true" for
# a boolean) goes through IncidentInput itself, so every problem a caller sees is DRF's own.
# tests/incidents/test_input.py holds the two to the same answers.

PLAIN_LINE = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")  # no_control_characters, no surrogates
PLAIN_TEXT = re.compile(r"[^\x00\ud800-\udfff]*")  # DRF refuses NUL and lone surrogates in any text
REPORT_FIELDS = frozenset(IncidentInput._declared_fields)
REQUIRED_REPORT_FIELDS = tuple(name for name, field in IncidentInput._declared_fields.items() if field.required)
MAX_LENGTH = {name: IncidentInput._declared_fields[name].max_length for name in ("title", "description", "external_id")}
CATEGORIES, LEVELS = frozenset(Category.values), frozenset(Level.values)
CASUALTY_FIGURES = frozenset(CasualtiesInput._declared_fields)
MAX_COUNT = CasualtiesInput._declared_fields["deaths"].max_value


# The report's own time field, for a naive time (see _plain_time).
OCCURRED_AT_FIELD = IncidentInput().fields["occurred_at"]


def incident_input(data) -> dict:
    """A report (POST /incidents/, an item of bulk/) as IncidentInput validates it; its
    ValidationError for anything it refuses."""
    plain = plain_report(data)
    return plain if plain is not None else validated(IncidentInput, data)


def plain_report(data) -> dict | None:
    """The report's validated data when every field is plainly valid, else None (ask DRF)."""
    if not isinstance(data, dict) or not REPORT_FIELDS.issuperset(data):
        return None
    if any(name not in data for name in REQUIRED_REPORT_FIELDS):
        return None
    report = {
        "title": _plain_text(data["title"], MAX_LENGTH["title"], PLAIN_LINE),
        "category": _plain_choice(data["category"], CATEGORIES),
        "type": _plain_choice(data["type"], ALL_TYPES),
        "level": _plain_choice(data["level"], LEVELS),
        "occurred_at": _plain_time(data["occurred_at"]),
        "location": _plain_location(data["location"]),
    }
    if "description" in data:
        report["description"] = _plain_text(data["description"], MAX_LENGTH["description"], PLAIN_TEXT, blank="")
    if None in report.values():
        return None
    # DRF's order of fields, for a caller that reads them in order.
    report = {name: report[name] for name in IncidentInput._declared_fields if name in report}
    if "affected_area" in data:
        report["affected_area"] = data["affected_area"]  # any JSON; incidents.areas checks it
    if "casualties" in data:
        casualties = _plain_casualties(data["casualties"])
        if casualties is None:
            return None
        report["casualties"] = casualties
    for name in ("casualty_details", "contacts"):
        if name in data:
            if data[name] != []:
                return None  # personal data: rare enough for DRF to check each entry
            report[name] = []
    if "external_id" in data:
        report["external_id"] = _plain_text(data["external_id"], MAX_LENGTH["external_id"], PLAIN_LINE)
        if report["external_id"] is None:
            return None
    if "exercise" in data:
        if type(data["exercise"]) is not bool:
            return None
        report["exercise"] = data["exercise"]
    return report


def _plain_text(value, max_length: int, allowed: re.Pattern, blank: str | None = None) -> str | None:
    """A CharField's value (trimmed), or None when it is not plainly valid."""
    if type(value) is not str:
        return None
    value = value.strip()
    if not value:
        return blank
    return value if len(value) <= max_length and allowed.fullmatch(value) else None


def _plain_choice(value, choices: frozenset[str]) -> str | None:
    return value if type(value) is str and value in choices else None


def _plain_time(value):
    """The time as DRF's DateTimeField reads it. One with an offset (what city systems send)
    is read here as DRF does (Django's parse_datetime tries `fromisoformat` first, then the
    field, config.serializers.InstantField, applies config.times' rule) at a tenth of the cost;
    a naive one, or one the rule refuses, is read by the field itself."""
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return instant(parsed)
    except (ValueError, OverflowError):
        return None
    try:
        return OCCURRED_AT_FIELD.run_validation(value)
    except serializers.ValidationError:
        return None


def _plain_number(value, bound: float) -> float | None:
    if type(value) not in (int, float) or not math.isfinite(value) or not -bound <= value <= bound:
        return None
    return float(value)


def _plain_location(value) -> dict | None:
    if type(value) is not dict or value.keys() != {"lat", "lon"}:
        return None
    lat, lon = _plain_number(value["lat"], 90), _plain_number(value["lon"], 180)
    return None if lat is None or lon is None else {"lat": lat, "lon": lon}


def _plain_casualties(value) -> dict | None:
    if type(value) is not dict or not CASUALTY_FIGURES.issuperset(value):
        return None
    for count in value.values():
        if type(count) is not int or not 0 <= count <= MAX_COUNT:
            return None
    return {name: value[name] for name in CasualtiesInput._declared_fields if name in value}


class IncidentChangeInput(StrictInput):
    """PATCH: any of the report's fields but the idempotency key and the exercise flag."""

    title = serializers.CharField(max_length=200, required=False, validators=[no_control_characters])
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    occurred_at = InstantField(required=False)
    location = LocationInput(required=False)
    affected_area = AffectedAreaField(required=False, allow_null=True)
    casualties = CasualtiesInput(required=False)
    casualty_details = serializers.ListField(child=CasualtyDetailInput(), max_length=1000, required=False)
    contacts = serializers.ListField(child=ContactInput(), max_length=50, required=False)


class TimelineUpdateInput(StrictInput):
    text = serializers.CharField(max_length=5000)
    figures = CasualtiesInput(required=False)


class TransitionInput(StrictInput):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class JurisdictionAddInput(StrictInput):
    jurisdiction = serializers.RegexField(r"^[1-9]\d{5}$", error_messages={"invalid": "A GB/T 2260 code: six digits."})


class SitrepFiguresInput(StrictInput):
    deaths = CountField(required=False)
    injured = CountField(required=False)
    missing = CountField(required=False)
    evacuated = CountField(required=False)
    shelters_open = CountField(required=False)
    resources_deployed = CountField(required=False)


class SitrepInput(StrictInput):
    period_start = InstantField()
    period_end = InstantField()
    figures = SitrepFiguresInput(required=False)
    needs = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    text = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    exercise = serializers.BooleanField(required=False)


# --- outputs (documentation of incidents.payloads) --------------------------------------------


class LocationOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()


class CasualtiesOutput(serializers.Serializer):
    deaths = serializers.IntegerField()
    injured = serializers.IntegerField()
    missing = serializers.IntegerField()
    evacuated = serializers.IntegerField()


class ReportedByOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["officer", "client"])
    name = serializers.CharField()


class IncidentOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Public id, e.g. INC-2026-000123.")
    title = serializers.CharField()
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    type = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    exercise = serializers.BooleanField(help_text="A drill (演练); kept out of real figures.")
    occurred_at = serializers.DateTimeField()
    location = LocationOutput()
    affected_area = AffectedAreaField(allow_null=True)
    reporting_jurisdiction = serializers.CharField()
    affected_jurisdictions = serializers.ListField(child=serializers.CharField())
    affected_jurisdictions_added_manually = serializers.ListField(child=serializers.CharField())
    cross_border = serializers.BooleanField()
    cluster = serializers.CharField(allow_null=True)
    casualties = CasualtiesOutput()
    casualty_details = serializers.ListField(
        child=serializers.DictField(), required=False,
        help_text="Personal data; absent for jurisdictions it is withheld from.",
    )
    contacts = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Absent for jurisdictions it is withheld from."
    )
    external_id = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(help_text="Also the ETag.")
    reported_by = ReportedByOutput()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IncidentPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page (a cursor), null on the last.")
    results = IncidentOutput(many=True)


class TimelineEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TimelineKind.choices)
    at = serializers.DateTimeField()
    author = serializers.CharField()
    author_jurisdiction = serializers.CharField()
    text = serializers.CharField()
    figures = serializers.DictField(child=serializers.IntegerField())
    previous_status = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    data = serializers.DictField(help_text='What an entry of another app refers to, e.g. {"alert": "<id>"}.')


class SitrepFiguresOutput(serializers.Serializer):
    deaths = serializers.IntegerField()
    injured = serializers.IntegerField()
    missing = serializers.IntegerField()
    evacuated = serializers.IntegerField()
    shelters_open = serializers.IntegerField()
    resources_deployed = serializers.IntegerField()


class SitrepOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField()
    jurisdiction = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    figures = SitrepFiguresOutput()
    needs = serializers.CharField()
    text = serializers.CharField()
    exercise = serializers.BooleanField()
    author = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class JointSitrepOutput(serializers.Serializer):
    incident = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    type = serializers.CharField()
    level = serializers.CharField()
    status = serializers.CharField()
    exercise = serializers.BooleanField()
    as_of = serializers.DateTimeField()
    affected_jurisdictions = serializers.ListField(child=serializers.CharField())
    reported = serializers.ListField(child=serializers.CharField(), help_text="Jurisdictions counted.")
    missing = serializers.ListField(child=serializers.CharField(), help_text="Affected, not yet reported.")
    totals = SitrepFiguresOutput()
    reports = SitrepOutput(many=True, help_text="The latest report of each jurisdiction counted.")
    exercise_reports_excluded = serializers.IntegerField(
        help_text="Drill reports kept out of a real incident's totals."
    )


class ProblemOutput(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class BulkResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 created, 200 existing (changed or not), 4xx refused.")
    incident = IncidentOutput(required=False)
    problem = ProblemOutput(required=False)


class BulkOutput(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkResultOutput(many=True)


class CatalogueTypeOutput(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class CatalogueCategoryOutput(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    types = CatalogueTypeOutput(many=True)
