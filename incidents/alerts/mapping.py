"""Our incident category, type and level ↔ CAP 1.2 terms: one table, both directions.

Out (issuing an alert from an incident): `cap_terms(category=…, level=…, type=…)` gives the
CAP <category>, <severity>, <urgency> and <certainty>. In (importing): `level_for_severities`
and `category_for_cap` read our level and category back from a received alert, which the
visibility rule needs (sharing.visibility judges by level and category).

docs/cap.md ("Our category and level ↔ CAP") prints these tables; a test keeps the two in step.
"""

from dataclasses import dataclass

NATURAL_DISASTER, ACCIDENT, PUBLIC_HEALTH, SOCIAL_SAFETY = (
    "natural_disaster", "accident", "public_health", "social_safety",
)
OUR_CATEGORIES = (NATURAL_DISASTER, ACCIDENT, PUBLIC_HEALTH, SOCIAL_SAFETY)


@dataclass(frozen=True)
class CapTerms:
    category: str
    severity: str
    urgency: str
    certainty: str


# Level (PRC Emergency Response Law; GB/T 35965.1 signal colours) → severity, urgency, certainty.
# An alert issued from an incident describes something that has happened, hence Observed.
LEVEL_TERMS: dict[str, tuple[str, str, str]] = {
    "I": ("Extreme", "Immediate", "Observed"),  # 特别重大, red
    "II": ("Severe", "Immediate", "Observed"),  # 重大, orange
    "III": ("Moderate", "Expected", "Observed"),  # 较大, yellow
    "IV": ("Minor", "Expected", "Observed"),  # 一般, blue
}

# Category → CAP <category>, unless the type says better (TYPE_CATEGORY).
CATEGORY_CAP: dict[str, str] = {
    NATURAL_DISASTER: "Met",
    ACCIDENT: "Safety",
    PUBLIC_HEALTH: "Health",
    SOCIAL_SAFETY: "Security",
}

TYPE_CATEGORY: dict[str, str] = {
    "earthquake": "Geo",
    "landslide": "Geo",
    "debris_flow": "Geo",
    "land_subsidence": "Geo",
    "forest_fire": "Fire",
    "red_tide": "Env",
    "fire": "Fire",
    "hazmat": "CBRNE",
    "explosion": "CBRNE",
    "nuclear": "CBRNE",
    "traffic": "Transport",
    "rail": "Transport",
    "aviation": "Transport",
    "maritime": "Transport",
    "power_outage": "Infra",
    "water_supply": "Infra",
    "gas_leak": "Infra",
    "infrastructure": "Infra",
    "building_collapse": "Rescue",
    "environmental_pollution": "Env",
    "mass_gathering": "Safety",
    "crowd_crush": "Safety",
}

# Received CAP severity → our level. Unknown is read as IV, the level shared least: an alert
# that does not say how severe it is must not reach further than one that says "Minor".
SEVERITY_LEVEL: dict[str, str] = {
    "Extreme": "I",
    "Severe": "II",
    "Moderate": "III",
    "Minor": "IV",
    "Unknown": "IV",
}
LEAST_SHARED_LEVEL = "IV"

# Received CAP category → our category ("" for Other: no category, so agreements limited to
# some categories do not cover it).
CAP_CATEGORY_OURS: dict[str, str] = {
    "Geo": NATURAL_DISASTER,
    "Met": NATURAL_DISASTER,
    "Safety": ACCIDENT,
    "Security": SOCIAL_SAFETY,
    "Rescue": ACCIDENT,
    "Fire": ACCIDENT,
    "Health": PUBLIC_HEALTH,
    "Env": ACCIDENT,
    "Transport": ACCIDENT,
    "Infra": ACCIDENT,
    "CBRNE": ACCIDENT,
    "Other": "",
}

_LEVEL_ORDER = ("I", "II", "III", "IV")


def cap_terms(*, category: str, level: str, type: str | None = None) -> CapTerms:
    """The CAP terms of an alert about an incident of this category, type and level."""
    if category not in CATEGORY_CAP:
        raise ValueError(f"unknown category {category!r}; one of {', '.join(OUR_CATEGORIES)}")
    if level not in LEVEL_TERMS:
        raise ValueError(f"unknown level {level!r}; one of {', '.join(_LEVEL_ORDER)}")
    severity, urgency, certainty = LEVEL_TERMS[level]
    return CapTerms(TYPE_CATEGORY.get(type or "", CATEGORY_CAP[category]), severity, urgency, certainty)


def most_severe(levels) -> str:
    """The most severe of some levels ("I" beats "II"); the least shared level for none."""
    present = [level for level in levels if level in _LEVEL_ORDER]
    return min(present, key=_LEVEL_ORDER.index) if present else LEAST_SHARED_LEVEL


def level_for_severities(severities) -> str:
    """Our level for a received alert: its most severe info block decides."""
    return most_severe(SEVERITY_LEVEL.get(severity, LEAST_SHARED_LEVEL) for severity in severities)


def category_for_cap(categories) -> str:
    """Our category for a received alert: the first CAP category that maps to one."""
    for category in categories:
        ours = CAP_CATEGORY_OURS.get(category, "")
        if ours:
            return ours
    return ""
