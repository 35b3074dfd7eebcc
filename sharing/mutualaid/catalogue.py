"""The resource catalogue as data (data/catalogue.json): resource types with Chinese and English
names, a kind and the unit they are counted in.

The units are fixed by the file; the types are rows (so inventories and requests refer to them
by foreign key) loaded from the file by a data migration and again by `load_demo`, both
idempotent: adding a type is adding a line to the file and running either.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db import models
from django.utils.translation import gettext_lazy as _

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "catalogue.json"


class ResourceKind(models.TextChoices):
    TEAM = "team", _("Team")
    EQUIPMENT = "equipment", _("Equipment")
    SUPPLY = "supply", _("Supply")
    FACILITY = "facility", _("Facility")


@dataclass(frozen=True)
class Unit:
    code: str
    zh: str
    en: str


@cache
def _document() -> dict:
    return json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))


def units() -> dict[str, Unit]:
    return {code: Unit(code, label["zh"], label["en"]) for code, label in _document()["units"].items()}


def load_catalogue(resource_type_model) -> tuple[int, int]:
    """Create or update every type of the file. Takes the model so a migration can pass its
    historical one. Returns (created, updated); a second run writes nothing."""
    created = updated = 0
    for order, item in enumerate(_document()["resource_types"]):
        values = {"kind": item["kind"], "unit": item["unit"], "name_zh": item["zh"], "name_en": item["en"],
                  "consumable": item.get("consumable", False), "sort_order": order}
        row = resource_type_model.objects.filter(code=item["code"]).first()
        if row is None:
            resource_type_model.objects.create(code=item["code"], **values)
            created += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.save()
            updated += 1
    return created, updated
