"""An incident's input contract, declared once: what a caller may send to report or change an
incident, add to its timeline, move it along the lifecycle or submit a situation report.

Both edges take their limits from here: the API's input serializers
(incidents/api/serializers.py) and the web UI's forms (ui/forms.py), so the two cannot drift.
The field-level rules are the `*_checked` functions below; the services call them, so a
service called directly (the bulk path, a management command, a test) is as safe as one behind
a serializer. The serializers check types and shapes first (their problems name the field in
DRF's words); the functions here then hold the values to the rules no serializer knows: a time
not too far ahead, a type of the category given, the area's geometry (incidents.areas).

What stays in the services is what depends on who asks and on the incident as stored: the
permission, the lifecycle, the placement in a cluster, a change's type against the stored
category.

The bulk path's fast twin of the report's serializer is incidents/contract_fast.py, beside
this declaration; tests/incidents/test_contract.py holds the two to the same answers.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.validators import RegexValidator
from shapely.geometry import MultiPolygon, Polygon

from config.errors import ValidationFailed
from coordination.geometry import MAX_LATITUDE, MAX_LONGITUDE  # noqa: F401 (the forms' and serializers' bounds)
from incidents.areas import (
    MAX_CIRCLE_RADIUS_M,  # noqa: F401 (the form's radius, checked by area_checked)
    Location,
    area_checked,
    location_checked,
)
from incidents.catalogue import TYPES, Category, is_type_of
from incidents.lifecycle import CLOSED_STATUSES, Status
from incidents.models import SituationReport
from sharing.models import Level

# --- limits ------------------------------------------------------------------------------------
# The values the OpenAPI document publishes (GET /api/schema/): where the UI once allowed less
# (a description or a situation report's text of 5,000 characters, a note of 1,000, counts to
# 10,000,000), it now allows what the API does.

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
EXTERNAL_ID_MAX_LENGTH = 100
UPDATE_TEXT_MAX_LENGTH = 5_000  # a timeline entry
NOTE_MAX_LENGTH = 2_000  # a lifecycle move's note
# Closing or cancelling an incident ends what hangs on it (its playbook runs, joint command,
# open mutual aid): the officer says why, in at least this many characters (a closing note is
# what the neighbours read when they find the incident over; "." says nothing).
CLOSING_NOTE_MIN_LENGTH = 2
SITREP_TEXT_MAX_LENGTH = 10_000
SITREP_NEEDS_MAX_LENGTH = 2_000
MAX_COUNT = 100_000_000  # any figure: casualties, evacuated, shelters, resources
MAX_CASUALTY_DETAILS = 1_000
MAX_CONTACTS = 50
MAX_BULK_ITEMS = 500

# A casualty's personal data and a contact (sensitive fields, docs/sharing.md).
PERSON_NAME_MAX_LENGTH = 100
MAX_AGE = 150
CASUALTY_LOCATION_MAX_LENGTH = 200
CASUALTY_NOTE_MAX_LENGTH = 500
CONTACT_ROLE_MAX_LENGTH = 100
PHONE_PATTERN = r"^\+?[0-9][0-9 ()-]{2,38}$"
PHONE_MAX_LENGTH = 40
GENDERS = ("female", "male", "unknown")
CASUALTY_CONDITIONS = ("dead", "injured", "missing", "evacuated")

JURISDICTION_CODE_PATTERN = r"^[1-9]\d{5}$"  # GB/T 2260

# City systems' clocks drift; an occurrence (or a period's start) further ahead than this is a
# mistake, not skew.
OCCURRED_AT_SKEW = timedelta(minutes=10)

CATEGORIES, LEVELS = tuple(Category.values), tuple(Level.values)  # (`.values` builds a list each time)
CASUALTY_FIGURES = ("deaths", "injured", "missing", "evacuated")
SITREP_FIGURES = SituationReport.FIGURES

# A report's fields, in the order the API reads and answers them; the first six are required.
REPORT_FIELDS = (
    "title", "description", "category", "type", "level", "occurred_at", "location", "affected_area",
    "casualties", "casualty_details", "contacts", "external_id", "exercise",
)
REQUIRED_REPORT_FIELDS = ("title", "category", "type", "level", "occurred_at", "location")
# A change (PATCH) gives any of them but the idempotency key and the exercise flag.
CHANGE_FIELDS = tuple(name for name in REPORT_FIELDS if name not in ("external_id", "exercise"))

# A one-line text (a title, a name, a key) holds no control characters; any text holds no NUL.
no_control_characters = RegexValidator(r"^[^\x00-\x1f\x7f]*$", "Control characters are not allowed.")

Shape = Polygon | MultiPolygon


# --- the rules, checked ------------------------------------------------------------------------


@dataclass
class Given:
    """The fields of a report or change a caller sent, checked and turned into columns."""

    columns: dict[str, Any]
    location: Location | None = None
    area_given: bool = False
    shape: Shape | None = None


def report_checked(data: Mapping[str, Any], *, now: datetime, new: bool) -> Given:
    """A report (`new`: every required field) or a change, held to the contract; a 400 naming
    the first field that is not. The type is checked against the category here when both are
    given; a change of one of them is checked against the stored other by the service."""
    if new:
        for name in REQUIRED_REPORT_FIELDS:
            if name not in data:
                raise ValidationFailed.on(name, "This field is required.")
    given = Given(columns={})
    if "title" in data:
        given.columns["title"] = _checked_text("title", data["title"], TITLE_MAX_LENGTH, line=True)
    if "description" in data:
        given.columns["description"] = _checked_text(
            "description", data["description"], DESCRIPTION_MAX_LENGTH, blank=True
        )
    if "category" in data:
        given.columns["category"] = _checked_choice("category", data["category"], CATEGORIES)
    if "type" in data:
        given.columns["type"] = data["type"]
    if "level" in data:
        given.columns["level"] = _checked_choice("level", data["level"], LEVELS)
    if "occurred_at" in data:
        given.columns["occurred_at"] = _checked_occurred_at(data["occurred_at"], now=now)
    if "location" in data:
        location = data["location"]
        if not isinstance(location, Mapping):
            raise ValidationFailed.on("location", 'A location is {"lat": …, "lon": …}.')
        given.location = location_checked(lat=location.get("lat"), lon=location.get("lon"))
        given.columns["location_lat"], given.columns["location_lon"] = given.location.lat, given.location.lon
    if "affected_area" in data:
        given.area_given = True
        area = area_checked(data["affected_area"])
        given.shape = area.shape if area is not None else None
        given.columns["affected_area"] = area.stored if area is not None else None
    for name, value in figures_checked("casualties", data.get("casualties"), CASUALTY_FIGURES).items():
        given.columns[name] = value
    for name, most in (("casualty_details", MAX_CASUALTY_DETAILS), ("contacts", MAX_CONTACTS)):
        if name in data:
            if not isinstance(data[name], list) or len(data[name]) > most:
                raise ValidationFailed.on(name, f"A list of at most {most}.")
            given.columns[name] = data[name]
    if "category" in data and "type" in data:
        check_type(given.columns["category"], given.columns["type"])
    return given


def check_type(category: str, type_code: str) -> None:
    """The catalogue's rule: the type is one of the category's (incidents.catalogue)."""
    if not is_type_of(category, type_code):
        raise ValidationFailed.on(
            "type", f"{type_code!r} is not a type of {category}; one of {', '.join(TYPES[category])}."
        )


def update_checked(*, text, figures: Mapping[str, Any] | None) -> dict[str, int]:
    """A timeline entry's text and figures; the figures as given."""
    figures = figures_checked("figures", figures, CASUALTY_FIGURES)
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed.on("text", "An update needs some text.")
    _checked_text("text", text, UPDATE_TEXT_MAX_LENGTH)
    return figures


def transition_checked(*, status, note) -> None:
    """A lifecycle move's status and note (whether the move is allowed is the lifecycle's)."""
    if status not in Status.values:
        raise ValidationFailed.on("status", f"Unknown status {status!r}; one of {', '.join(Status.values)}.")
    _checked_text("note", note, NOTE_MAX_LENGTH, blank=True)


def closing_note_checked(*, status: str, note: str) -> None:
    """A move that ends the incident (closed, cancelled) needs a closing note. Checked by the
    service once the lifecycle allows the move, so a move it forbids stays a 409."""
    if status in CLOSED_STATUSES and len(note.strip()) < CLOSING_NOTE_MIN_LENGTH:
        raise ValidationFailed.on(
            "note", f"Closing or cancelling an incident needs a closing note (at least {CLOSING_NOTE_MIN_LENGTH} "
                    "characters): what ended it, and what is still out.")


@dataclass
class SitrepGiven:
    period_start: datetime
    period_end: datetime
    values: dict[str, Any]  # the report's other columns given: figures, needs, text, exercise


def sitrep_checked(data: Mapping[str, Any], *, now: datetime) -> SitrepGiven:
    """A situation report held to the contract; a 400 naming the first field that is not."""
    for name in ("period_start", "period_end"):
        if not isinstance(data.get(name), datetime):
            raise ValidationFailed.on(name, "This field is required: a date-time.")
    period_start, period_end = data["period_start"], data["period_end"]
    if period_end <= period_start:
        raise ValidationFailed.on("period_end", "The period must end after it starts.")
    if period_start > now + OCCURRED_AT_SKEW:
        raise ValidationFailed.on("period_start", "The period cannot start in the future.")
    values: dict[str, Any] = {**figures_checked("figures", data.get("figures"), SITREP_FIGURES),
                              "period_end": period_end}
    if "needs" in data:
        values["needs"] = _checked_text("needs", data["needs"], SITREP_NEEDS_MAX_LENGTH, blank=True)
    if "text" in data:
        values["text"] = _checked_text("text", data["text"], SITREP_TEXT_MAX_LENGTH, blank=True)
    if "exercise" in data:
        if not isinstance(data["exercise"], bool):
            raise ValidationFailed.on("exercise", "Must be true or false.")
        values["exercise"] = data["exercise"]
    return SitrepGiven(period_start, period_end, values)


def figures_checked(field: str, figures, names: tuple[str, ...]) -> dict[str, int]:
    """Named counts (`field` names them in a problem: casualties, figures): each a known name
    and a whole number from 0 to MAX_COUNT."""
    if figures is None:
        return {}
    if not isinstance(figures, Mapping):
        raise ValidationFailed.on(field, f"An object of counts: {', '.join(names)}.")
    for name, value in figures.items():
        if name not in names:
            raise ValidationFailed.on(f"{field}.{name}", f"Unknown figure; one of {', '.join(names)}.")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
            raise ValidationFailed.on(f"{field}.{name}", f"A count: a whole number from 0 to {MAX_COUNT}.")
    return dict(figures)


def _checked_choice(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationFailed.on(name, f"Unknown {name} {value!r}; one of {', '.join(choices)}.")
    return value


def _checked_occurred_at(value, *, now: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationFailed.on("occurred_at", "A date-time.")
    if value > now + OCCURRED_AT_SKEW:
        raise ValidationFailed.on("occurred_at", "An incident cannot occur in the future.")
    return value


def _checked_text(name: str, value, max_length: int, *, line: bool = False, blank: bool = False) -> str:
    """A text as given (the edges trim it), within its length; a one-line text (`line`)
    without control characters, any text without NUL."""
    if not isinstance(value, str):
        raise ValidationFailed.on(name, "A text.")
    if not blank and not value.strip():
        raise ValidationFailed.on(name, "This field may not be blank.")
    if len(value) > max_length:
        raise ValidationFailed.on(name, f"At most {max_length} characters.")
    if "\x00" in value or (line and not no_control_characters.regex.fullmatch(value)):
        raise ValidationFailed.on(name, "Control characters are not allowed.")
    return value
