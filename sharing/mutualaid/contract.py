"""Mutual aid's input contract, declared once: what a caller may send to record stock (an
inventory), ask for resources (a request), offer them, move a commitment along or claim its costs.

Both edges take their limits from here: the API's input serializers
(sharing/mutualaid/api/serializers.py, which the OpenAPI document publishes) and the web UI's
forms (ui/stock_forms.py for stock, ui/forms.py for requests and offers), so a page never offers
more or less than the API. The field-level checks are the `*_checked` functions below; the
services (sharing.mutualaid.services) call them, so a service called directly (the CSV import,
a management command, the UI, a test) is held to the same contract as one behind a serializer.
The serializers check types and shapes first; these functions then hold the values to the rules
(a place's bounds, a contact's keys, a unit of the type's catalogue entry).

What stays in the services is what depends on who asks and on the rows as stored: the
permission (coordination.principals.require), the lifecycle (sharing.mutualaid.lifecycle), the
quantities still available, the cluster a jurisdiction belongs to.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from config.errors import ValidationFailed
from coordination.geometry import MAX_LATITUDE, MAX_LONGITUDE
from sharing.mutualaid import catalogue
from sharing.mutualaid.models import ResourceType

# --- limits ------------------------------------------------------------------------------------

# A quantity of stock, requested, offered or committed (0 allowed on hand, 1 elsewhere).
MAX_QUANTITY = 10_000_000
# A place name (an inventory's depot, a request's delivery place): Inventory.location_name's length.
PLACE_NAME_MAX_LENGTH = 200
# Contacts on one inventory or request, and each one's fields.
MAX_CONTACTS = 20
CONTACT_NAME_MAX_LENGTH = 100
CONTACT_ROLE_MAX_LENGTH = 100
CONTACT_PHONE_MAX_LENGTH = 40
CONTACT_KEYS = ("name", "role", "phone")

RESOURCE_TYPE_MAX_LENGTH = 32  # a catalogue code
UNIT_MAX_LENGTH = 16  # a catalogue unit code
INCIDENT_ID_MAX_LENGTH = 32  # a public id, INC-2026-000123
EXTERNAL_ID_MAX_LENGTH = 100  # a city system's own id for its stock row
DESCRIPTION_MAX_LENGTH = 2_000  # a request's
NOTE_MAX_LENGTH = 500  # an offer's, a commitment's move, a reimbursement step
REASON_MAX_LENGTH = 500  # why a request is cancelled
# A request names these; the rest may be left out.
REQUEST_REQUIRED = ("incident", "resource_type", "quantity", "needed_by")
# City systems' clocks drift: a "needed by" this far in the past is still taken as "now".
NEEDED_BY_SKEW = timedelta(minutes=10)
# A reimbursement's amount: Reimbursement's columns (numeric(14, 2)), so the largest is
# 999,999,999,999.99; its currency an ISO 4217 code.
AMOUNT_MAX_DIGITS, AMOUNT_DECIMAL_PLACES = 14, 2
MAX_AMOUNT = Decimal(10) ** (AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES) - Decimal(10) ** -AMOUNT_DECIMAL_PLACES
CURRENCY_LENGTH = 3
CURRENCY = re.compile(r"[A-Z]{3}")

# One line of text that PostgreSQL stores: no control characters (a NUL in a name was a 500
# there) and no lone surrogates (no UTF-8 for them).
ONE_LINE = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")


# --- the checks ---------------------------------------------------------------------------------


def quantity_checked(name: str, value, *, positive: bool) -> int:
    """A quantity: a whole number (a string of digits counts, as a CSV gives it), at least 1
    (or 0 where `positive` is False), at most MAX_QUANTITY."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ValidationFailed.on(name, "A whole number is expected.")
    if value < (1 if positive else 0):
        raise ValidationFailed.on(name, "Must be at least 1." if positive else "Must not be negative.")
    if value > MAX_QUANTITY:
        raise ValidationFailed.on(name, f"At most {MAX_QUANTITY}.")
    return value


def resource_type_checked(code) -> ResourceType:
    """A resource type of the catalogue, by its code."""
    rtype = ResourceType.objects.filter(code=str(code)).first() if code else None
    if rtype is None:
        raise ValidationFailed.on("resource_type", f"Unknown resource type {code!r}; see /api/v1/resource-types/.")
    return rtype


def unit_checked(rtype: ResourceType, unit) -> None:
    """A unit, when the caller names one, must be the type's (quantities are never converted)."""
    if unit in (None, ""):
        return
    known = catalogue.units()
    if unit not in known:
        raise ValidationFailed.on("unit", f"Unknown unit {unit!r}; one of {', '.join(sorted(known))}.")
    if unit != rtype.unit:
        raise ValidationFailed.on("unit", f"{rtype.code} is counted in {rtype.unit!r}, not {unit!r}.")


@dataclass(frozen=True)
class AidPlace:
    """A place given with stock or a request (a depot, where resources are to go): a name, a
    point, or both."""

    name: str = ""
    lat: float | None = None
    lon: float | None = None


def place_checked(value, name: str = "location") -> AidPlace:
    """A place: a name, a point ({"lat", "lon"}), or both ({"name", "lat", "lon"})."""
    if value is None:
        return AidPlace()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise ValidationFailed.on(name, 'Expected a name or {"name", "lat", "lon"}.')
    unknown = sorted(set(value) - {"name", "lat", "lon"})
    if unknown:
        raise ValidationFailed.on(f"{name}.{unknown[0]}", "Unknown key.")
    place_name = value.get("name") or ""
    if (not isinstance(place_name, str) or len(place_name) > PLACE_NAME_MAX_LENGTH
            or not ONE_LINE.fullmatch(place_name)):
        raise ValidationFailed.on(f"{name}.name",
                                  f"A name of at most {PLACE_NAME_MAX_LENGTH} characters, without control characters.")
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        raise ValidationFailed.on(name, "Give both lat and lon, or neither.")
    for key, coordinate, bound in (("lat", lat, MAX_LATITUDE), ("lon", lon, MAX_LONGITUDE)):
        if coordinate is None:
            continue
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
            raise ValidationFailed.on(f"{name}.{key}", "A number is expected.")
        if not -bound <= coordinate <= bound:
            raise ValidationFailed.on(f"{name}.{key}", f"Out of range (±{bound}).")
    return AidPlace(place_name.strip(), None if lat is None else float(lat), None if lon is None else float(lon))


CONTACT_LIMITS = (("name", CONTACT_NAME_MAX_LENGTH), ("role", CONTACT_ROLE_MAX_LENGTH),
                  ("phone", CONTACT_PHONE_MAX_LENGTH))


def contacts_checked(value) -> list[dict]:
    """Contacts: a list of at most MAX_CONTACTS, each {"name", "role", "phone"} with a name,
    every field one line of text within its length (a NUL or a line break in a phone number is
    a mistake, and PostgreSQL refuses a NUL)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CONTACTS:
        raise ValidationFailed.on("contacts", f"A list of at most {MAX_CONTACTS} contacts.")
    contacts = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ValidationFailed.on(f"contacts.{index}", 'Each contact needs a "name".')
        unknown = sorted(set(item) - set(CONTACT_KEYS))
        if unknown:
            raise ValidationFailed.on(f"contacts.{index}.{unknown[0]}", "Unknown key; name, role and phone.")
        for key, limit in CONTACT_LIMITS:
            text = item.get(key, "")
            if not isinstance(text, str) or len(text) > limit:
                raise ValidationFailed.on(f"contacts.{index}.{key}", f"Text of at most {limit} characters.")
            if not ONE_LINE.fullmatch(text):
                raise ValidationFailed.on(f"contacts.{index}.{key}", "Control characters are not allowed.")
        contacts.append({"name": item["name"].strip(), "role": item.get("role", ""), "phone": item.get("phone", "")})
    return contacts


def required_checked(data: Mapping, names) -> None:
    """Each of `names` given, neither missing, None nor empty."""
    for name in names:
        if data.get(name) in (None, ""):
            raise ValidationFailed.on(name, "This field is required.")


def needed_by_checked(value, *, now: datetime) -> datetime:
    """A request's "needed by": a datetime, not already past (NEEDED_BY_SKEW allowed for clocks)."""
    if not isinstance(value, datetime):
        raise ValidationFailed.on("needed_by", "A date and time with an offset is expected.")
    if value < now - NEEDED_BY_SKEW:
        raise ValidationFailed.on("needed_by", "This time has passed.")
    return value


def text_checked(name: str, value, limit: int) -> str:
    """A free text (a description, a note, a reason, an external id), trimmed; None is "".
    Line breaks are allowed, a NUL is not (PostgreSQL cannot store it)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed.on(name, f"Text of at most {limit} characters.")
    if "\x00" in value:
        raise ValidationFailed.on(name, "Control characters are not allowed.")
    return value.strip()


def amount_checked(value) -> Decimal:
    """A reimbursement's amount: a decimal from 0 to MAX_AMOUNT, at most two decimals."""
    if isinstance(value, bool) or value is None:
        raise ValidationFailed.on("amount", "An amount is required.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed.on("amount", "A decimal amount is expected.") from None
    if (not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT
            or amount != amount.quantize(Decimal(10) ** -AMOUNT_DECIMAL_PLACES)):
        raise ValidationFailed.on("amount", "A non-negative amount with at most two decimals.")
    return amount


def currency_checked(value) -> str | None:
    """An ISO 4217 code, when given (None: the claim's, or CNY)."""
    if value is not None and not CURRENCY.fullmatch(str(value)):
        raise ValidationFailed.on("currency", "An ISO 4217 code such as CNY, HKD or MOP.")
    return value
