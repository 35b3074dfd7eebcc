"""The input checks every mutual-aid write shares (inventories, requests, reimbursements):
quantities, resource types and units, places, contacts, text, and a jurisdiction's cluster. One
place for each, so an inventory and a request refuse the same input with the same message. (The
caller's permission is coordination.principals.require, as for every service.)
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from config.errors import ValidationFailed
from coordination.authentication import clusters_of
from sharing.mutualaid import catalogue
from sharing.mutualaid.limits import MAX_CONTACTS, MAX_QUANTITY, PLACE_NAME_MAX_LENGTH
from sharing.mutualaid.models import ResourceType


def _count(name: str, value, *, positive: bool) -> int:
    """A quantity: a whole number, at least 1 (or 0 where `positive` is False)."""
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


def _resource_type(code) -> ResourceType:
    rtype = ResourceType.objects.filter(code=str(code)).first() if code else None
    if rtype is None:
        raise ValidationFailed.on("resource_type", f"Unknown resource type {code!r}; see /api/v1/resource-types/.")
    return rtype


def _check_unit(rtype: ResourceType, unit) -> None:
    """A unit, when the caller names one, must be the type's (quantities are never converted)."""
    if unit in (None, ""):
        return
    known = catalogue.units()
    if unit not in known:
        raise ValidationFailed.on("unit", f"Unknown unit {unit!r}; one of {', '.join(sorted(known))}.")
    if unit != rtype.unit:
        raise ValidationFailed.on("unit", f"{rtype.code} is counted in {rtype.unit!r}, not {unit!r}.")


# One line of text that PostgreSQL stores: no control characters (a NUL in a name was a 500
# there) and no lone surrogates (no UTF-8 for them).
PLACE_NAME = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")


@dataclass(frozen=True)
class Place:
    name: str = ""
    lat: float | None = None
    lon: float | None = None


def _place(value, name: str = "location") -> Place:
    """A place: a name, a point ({"lat", "lon"}), or both ({"name", "lat", "lon"})."""
    if value is None:
        return Place()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise ValidationFailed.on(name, 'Expected a name or {"name", "lat", "lon"}.')
    unknown = sorted(set(value) - {"name", "lat", "lon"})
    if unknown:
        raise ValidationFailed.on(f"{name}.{unknown[0]}", "Unknown key.")
    place_name = value.get("name") or ""
    if (not isinstance(place_name, str) or len(place_name) > PLACE_NAME_MAX_LENGTH
            or not PLACE_NAME.fullmatch(place_name)):
        raise ValidationFailed.on(f"{name}.name",
                                  f"A name of at most {PLACE_NAME_MAX_LENGTH} characters, without control characters.")
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        raise ValidationFailed.on(name, "Give both lat and lon, or neither.")
    for key, coordinate, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if coordinate is None:
            continue
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
            raise ValidationFailed.on(f"{name}.{key}", "A number is expected.")
        if not -bound <= coordinate <= bound:
            raise ValidationFailed.on(f"{name}.{key}", f"Out of range (±{bound}).")
    return Place(place_name.strip(), None if lat is None else float(lat), None if lon is None else float(lon))


def _contacts(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CONTACTS:
        raise ValidationFailed.on("contacts", f"A list of at most {MAX_CONTACTS} contacts.")
    contacts = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ValidationFailed.on(f"contacts.{index}", 'Each contact needs a "name".')
        unknown = sorted(set(item) - {"name", "role", "phone"})
        if unknown:
            raise ValidationFailed.on(f"contacts.{index}.{unknown[0]}", "Unknown key; name, role and phone.")
        for key, limit in (("name", 100), ("role", 100), ("phone", 40)):
            text = item.get(key, "")
            if not isinstance(text, str) or len(text) > limit:
                raise ValidationFailed.on(f"contacts.{index}.{key}", f"Text of at most {limit} characters.")
        contacts.append({"name": item["name"].strip(), "role": item.get("role", ""), "phone": item.get("phone", "")})
    return contacts


def _text(name: str, value, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed.on(name, f"Text of at most {limit} characters.")
    return value.strip()


def _cluster_of(code: str) -> str:
    clusters = clusters_of(code)
    return clusters[0] if clusters else ""
