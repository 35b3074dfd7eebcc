"""The category/level ↔ CAP table (incidents.alerts.mapping): complete, and as docs/cap.md prints it."""

import re

import pytest

from incidents.alerts.cap.model import CATEGORIES, CERTAINTIES, SEVERITIES, URGENCIES
from incidents.alerts.mapping import (
    CAP_CATEGORY_OURS,
    CATEGORY_CAP,
    LEVEL_TERMS,
    OUR_CATEGORIES,
    SEVERITY_LEVEL,
    TYPE_CATEGORY,
    CapTerms,
    cap_terms,
    category_for_cap,
    level_for_severities,
    most_severe,
)
from tests.alerts.support import REPOSITORY

CAP_DOC = (REPOSITORY / "docs" / "cap.md").read_text(encoding="utf-8")


def doc_rows(header: str) -> list[list[str]]:
    """The cells of the docs/cap.md table under `header`, backticks removed."""
    lines = CAP_DOC[CAP_DOC.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().replace("`", "") for cell in line.strip("|").split("|")])
    return rows


def test_every_level_and_category_maps_to_cap_terms():
    assert set(LEVEL_TERMS) == {"I", "II", "III", "IV"} and set(CATEGORY_CAP) == set(OUR_CATEGORIES)
    for severity, urgency, certainty in LEVEL_TERMS.values():
        assert severity in SEVERITIES and urgency in URGENCIES and certainty in CERTAINTIES
    assert set(CATEGORY_CAP.values()) | set(TYPE_CATEGORY.values()) <= set(CATEGORIES)
    assert set(SEVERITY_LEVEL) == set(SEVERITIES) and set(CAP_CATEGORY_OURS) == set(CATEGORIES)


def test_a_level_and_its_severity_read_back_to_the_same_level():
    for level, (severity, _, _) in LEVEL_TERMS.items():
        assert SEVERITY_LEVEL[severity] == level
        assert level_for_severities([severity]) == level


@pytest.mark.parametrize(
    "category, level, type, expected",
    [
        ("natural_disaster", "II", "typhoon", CapTerms("Met", "Severe", "Immediate", "Observed")),
        ("natural_disaster", "I", "earthquake", CapTerms("Geo", "Extreme", "Immediate", "Observed")),
        ("accident", "III", "hazmat", CapTerms("CBRNE", "Moderate", "Expected", "Observed")),
        ("accident", "IV", None, CapTerms("Safety", "Minor", "Expected", "Observed")),
        ("public_health", "II", "epidemic", CapTerms("Health", "Severe", "Immediate", "Observed")),
        ("social_safety", "III", "crowd_crush", CapTerms("Safety", "Moderate", "Expected", "Observed")),
    ],
)
def test_cap_terms_for_an_incident(category, level, type, expected):
    assert cap_terms(category=category, level=level, type=type) == expected


@pytest.mark.parametrize("category, level", [("weather", "I"), ("accident", "V"), ("", "")])
def test_cap_terms_refuse_what_is_not_ours(category, level):
    with pytest.raises(ValueError):
        cap_terms(category=category, level=level)


def test_the_most_severe_info_block_and_the_first_known_category_decide():
    assert level_for_severities(["Minor", "Extreme", "Moderate"]) == "I"
    assert level_for_severities(["Unknown"]) == level_for_severities([]) == "IV"
    assert most_severe(["III", "", "II"]) == "II"
    assert category_for_cap(["Other", "Health", "Met"]) == "public_health"
    assert category_for_cap(["Other"]) == ""


def test_every_catalogue_type_is_known_or_takes_its_categorys_default():
    catalogue = pytest.importorskip("incidents.catalogue")
    for category, types in catalogue.TYPES.items():
        assert category in CATEGORY_CAP
        for type_code in types:
            assert cap_terms(category=category, level="I", type=type_code).category in CATEGORIES
    assert set(TYPE_CATEGORY) <= catalogue.ALL_TYPES


def test_the_docs_print_the_same_tables():
    levels = {row[0]: tuple(row[1:4]) for row in doc_rows("| level | `<severity>` |")}
    assert levels == LEVEL_TERMS

    categories, overrides = {}, {}
    for category, cap_category, types in doc_rows("| category | `<category>` |"):
        categories[category] = cap_category
        for group in filter(None, (part.strip() for part in types.split(";"))):
            names, target = group.split("→")
            overrides.update({name.strip(): target.strip() for name in names.split(",")})
    assert categories == CATEGORY_CAP and overrides == TYPE_CATEGORY

    assert dict(doc_rows("| CAP `<severity>` | level |")) == SEVERITY_LEVEL
    read_back = {}
    for cap_categories, ours in doc_rows("| CAP `<category>` | category |"):
        read_back.update({name.strip(): "" if ours == "none" else ours for name in cap_categories.split(",")})
    assert read_back == CAP_CATEGORY_OURS


def test_the_docs_name_the_accepted_geocode_value_names():
    from incidents.alerts.areas import GB_T_2260_VALUE_NAMES

    section = CAP_DOC[CAP_DOC.index("## Affected jurisdictions"):CAP_DOC.index("## Who sees an alert")]
    written = {"".join(name.split()).upper() for name in re.findall(r"`(GB[^`]*)`", section)}
    assert written == GB_T_2260_VALUE_NAMES
