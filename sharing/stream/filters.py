"""Narrowing what a subscriber gets: the stream's `filter` action and webhook subscriptions' filters.

A filter only narrows what the visibility rule already allows. Each condition applies to the
fact it names: an event without a level (an agreement change, a webhook notice) does not pass
`level_at_least`, one without a category does not pass `categories`.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from config.errors import ValidationFailed
from incidents.catalogue import Category
from sharing.models import LEVEL_RANK

MAX_FILTER_ITEMS = 100
CODE = re.compile(r"^[1-9]\d{5}$")


@dataclass(frozen=True)
class EventFilter:
    categories: frozenset[str] | None = None
    level_at_least: str | None = None
    jurisdictions: frozenset[str] | None = None

    @property
    def is_empty(self) -> bool:
        return self.categories is None and self.level_at_least is None and self.jurisdictions is None

    def matches(self, *, category: str, level: str, jurisdictions: Iterable[str]) -> bool:
        if self.categories is not None and category not in self.categories:
            return False
        if self.level_at_least is not None and (
            level not in LEVEL_RANK or LEVEL_RANK[level] > LEVEL_RANK[self.level_at_least]
        ):
            return False
        return self.jurisdictions is None or not self.jurisdictions.isdisjoint(jurisdictions)

    def as_dict(self) -> dict:
        return {
            "categories": sorted(self.categories) if self.categories is not None else None,
            "level_at_least": self.level_at_least,
            "jurisdictions": sorted(self.jurisdictions) if self.jurisdictions is not None else None,
        }

    @classmethod
    def parse(cls, data: dict) -> "EventFilter":
        """From a client's message or a subscription's `filters`; a missing or null key is no
        condition. Raises ValidationFailed naming every bad field."""
        errors: dict[str, list[str]] = {}
        categories = _codes(data.get("categories"), "categories", errors, allowed=set(Category.values))
        jurisdictions = _codes(data.get("jurisdictions"), "jurisdictions", errors, pattern=CODE)
        level = data.get("level_at_least")
        if level is not None and level not in LEVEL_RANK:
            errors["level_at_least"] = [f"One of {', '.join(LEVEL_RANK)}."]
        if errors:
            raise ValidationFailed("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors=errors)
        return cls(categories, level, jurisdictions)


def _codes(value, field: str, errors: dict, *, allowed: set[str] | None = None,
           pattern: re.Pattern | None = None) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors[field] = ["A list of strings."]
        return None
    if len(value) > MAX_FILTER_ITEMS:
        errors[field] = [f"At most {MAX_FILTER_ITEMS} items."]
        return None
    bad = sorted(item for item in value if (allowed is not None and item not in allowed)
                 or (pattern is not None and not pattern.match(item)))
    if bad:
        hint = f"known: {', '.join(sorted(allowed))}" if allowed else "six-digit GB/T 2260 codes"
        errors[field] = [f"Unknown {bad[:5]} ({hint})."]
        return None
    return frozenset(value)
