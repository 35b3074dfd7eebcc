"""The incidents' input contract (incidents.contract) is declared once and read everywhere:

- its fast twin (incidents.contract_fast, the bulk path's check) answers every valid and invalid
  report as the API's serializer does: the same data, or a refusal naming the same field;
- the API's input serializers and the web UI's forms have the same limits (they once drifted:
  a description of 10,000 characters through the API but 5,000 in the UI);
- a service called directly (no serializer in front) is held to the contract too.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from config.errors import ValidationFailed
from incidents import contract
from incidents.api import serializers
from incidents.contract_fast import NotPlain, plain_report_checked
from tests.incidents.conftest import report_body
from tests.incidents.test_bad_input import BAD_REPORTS
from tests.incidents.test_input import PLAIN
from ui import forms as ui_forms


def _at_and_over(limit: int, make) -> list:
    return [make(limit), make(limit + 1)]


# Every limit of a report at its bound and one past it, taken from the declaration: a limit
# changed in one place only (the serializer, or the twin) makes one of these answer differently.
LIMITS = [
    *_at_and_over(contract.TITLE_MAX_LENGTH, lambda n: report_body(title="t" * n)),
    *_at_and_over(contract.DESCRIPTION_MAX_LENGTH, lambda n: report_body(description="d" * n)),
    *_at_and_over(contract.EXTERNAL_ID_MAX_LENGTH, lambda n: report_body(external_id="k" * n)),
    *[report_body(casualties={name: count}) for name in contract.CASUALTY_FIGURES
      for count in (0, contract.MAX_COUNT, contract.MAX_COUNT + 1, -1)],
    *[report_body(location={"lat": lat, "lon": 114.0})
      for lat in (contract.MAX_LATITUDE, -contract.MAX_LATITUDE, contract.MAX_LATITUDE + 0.001,
                  -contract.MAX_LATITUDE - 0.001)],
    *[report_body(location={"lat": 22.6, "lon": lon})
      for lon in (contract.MAX_LONGITUDE, -contract.MAX_LONGITUDE, contract.MAX_LONGITUDE + 0.001,
                  -contract.MAX_LONGITUDE - 0.001)],
    *[report_body(category=category) for category in (*contract.CATEGORIES, "weather")],
    *[report_body(level=level) for level in (*contract.LEVELS, "V")],
    *[report_body(**{name: None}) for name in contract.REQUIRED_REPORT_FIELDS],  # each one missing
    report_body(location={"lat": 22.6, "lon": 114.0, "alt": 3}),
    report_body(exercise="perhaps"),
    report_body(occurred_at="2026-03-01T08:00:00+15:00"),
]

CASES = PLAIN + LIMITS + [report_body(**overrides) for _, overrides, _ in BAD_REPORTS]


def _fields(detail, prefix: str = "") -> set[str]:
    """The fields a DRF ValidationError names, as the problem details name them (a.b.0.c)."""
    if isinstance(detail, dict):
        return set().union(*(_fields(value, f"{prefix}{key}.") for key, value in detail.items()))
    if isinstance(detail, list) and detail and not all(isinstance(item, str) for item in detail):
        return set().union(*(_fields(item, f"{prefix}{index}.") for index, item in enumerate(detail) if item))
    return {prefix.rstrip(".")}


def declared(data):
    """The declared contract's answer: the API's serializer."""
    try:
        return "accepted", serializers.IncidentInput().run_validation(data)
    except ValidationError as exc:
        return "refused", _fields(exc.detail)


def twin(data):
    """The fast twin's answer."""
    try:
        return "accepted", plain_report_checked(data)
    except NotPlain as exc:
        return "refused", exc.field


@pytest.mark.parametrize("data", CASES)
def test_the_fast_twin_answers_every_case_as_the_declared_contract_does(data):
    declared_outcome, declared_answer = declared(data)
    twin_outcome, twin_answer = twin(data)
    assert twin_outcome == declared_outcome
    if declared_outcome == "accepted":
        assert twin_answer == declared_answer
        assert list(twin_answer) == list(declared_answer)  # in the same order
    else:
        # The same field named; for personal data (casualty_details, contacts) the twin names the
        # list and leaves its entries to the serializer, which names the entry's field.
        assert any(name == twin_answer or name.startswith(f"{twin_answer}.") for name in declared_answer), (
            twin_answer, declared_answer)


def test_the_cases_hold_valid_and_invalid_reports_of_every_field():
    outcomes = [declared(data) for data in CASES]
    assert sum(outcome == "accepted" for outcome, _ in outcomes) >= 30
    refused = set().union(*(answer for outcome, answer in outcomes if outcome == "refused"))
    assert {"title", "description", "external_id", "category", "level", "type", "occurred_at", "location",
            "location.lat", "location.lon", "exercise"} <= {name.split(".0")[0] for name in refused}


# --- the API's serializers are the declaration's --------------------------------------------------


def test_the_report_serializer_has_the_contracts_fields_in_order():
    fields = serializers.IncidentInput._declared_fields
    assert tuple(fields) == contract.REPORT_FIELDS
    assert tuple(name for name, field in fields.items() if field.required) == contract.REQUIRED_REPORT_FIELDS
    assert tuple(serializers.IncidentChangeInput._declared_fields) == contract.CHANGE_FIELDS
    assert tuple(serializers.CasualtiesInput._declared_fields) == contract.CASUALTY_FIGURES
    assert tuple(serializers.SitrepFiguresInput._declared_fields) == contract.SITREP_FIGURES


# --- the UI's limits are the API's ------------------------------------------------------------------

API_AND_UI = [
    # (API serializer, its field, UI form, its field)
    (serializers.IncidentInput, "title", ui_forms.ReportForm, "title"),
    (serializers.IncidentInput, "description", ui_forms.ReportForm, "description"),
    (serializers.IncidentChangeInput, "description", ui_forms.ReportForm, "description"),
    (serializers.TimelineUpdateInput, "text", ui_forms.UpdateForm, "text"),
    (serializers.TransitionInput, "note", ui_forms.TransitionForm, "note"),
    (serializers.SitrepInput, "text", ui_forms.SitrepForm, "text"),
    (serializers.SitrepInput, "needs", ui_forms.SitrepForm, "needs"),
]


@pytest.mark.parametrize(("serializer", "name", "form", "form_field"), API_AND_UI)
def test_a_text_may_be_as_long_in_the_ui_as_through_the_api(serializer, name, form, form_field):
    assert form.base_fields[form_field].max_length == serializer._declared_fields[name].max_length


def test_the_uis_counts_and_bounds_are_the_apis():
    api_count = serializers.CasualtiesInput._declared_fields["deaths"]
    for form, names in ((ui_forms.ReportForm, contract.CASUALTY_FIGURES),
                        (ui_forms.UpdateForm, contract.CASUALTY_FIGURES),
                        (ui_forms.SitrepForm, contract.SITREP_FIGURES)):
        for name in names:
            assert form.base_fields[name].max_value == api_count.max_value
            assert form.base_fields[name].min_value == api_count.min_value
    location = serializers.LocationInput._declared_fields
    for name in ("lat", "lon"):
        field = ui_forms.ReportForm.base_fields[name]
        assert (field.min_value, field.max_value) == (location[name].min_value, location[name].max_value)


def test_the_uis_title_refuses_control_characters_as_the_api_does():
    form = ui_forms.ReportForm(data={"title": "a\tb"})
    form.is_valid()
    assert "title" in form.errors
    assert "title" in declared(report_body(title="a\tb"))[1]


# --- a service called directly is held to the contract ------------------------------------------


@pytest.mark.parametrize(("overrides", "field"), [
    ({"description": "d" * (contract.DESCRIPTION_MAX_LENGTH + 1)}, "description"),
    ({"title": "t" * (contract.TITLE_MAX_LENGTH + 1)}, "title"),
    ({"title": "a\x07b"}, "title"),
    ({"level": "V"}, "level"),
    ({"casualties": {"deaths": contract.MAX_COUNT + 1}}, "casualties.deaths"),
    ({"location": "Shenzhen"}, "location"),
    ({"location": {"lat": 91, "lon": 114.0}}, "location"),
    ({"category": "public_health", "type": "hazmat"}, "type"),
    ({"contacts": [{}] * (contract.MAX_CONTACTS + 1)}, "contacts"),
    ({"title": None}, "title"),
])
def test_the_contracts_check_refuses_what_the_serializer_would_naming_the_field(overrides, field):
    now = timezone.now()
    data = {**report_body(**overrides), "occurred_at": now - timedelta(minutes=5)}
    with pytest.raises(ValidationFailed) as refused:
        contract.report_checked(data, now=now, new=True)
    assert list(refused.value.errors) == [field]


def test_a_situation_reports_text_and_an_updates_text_have_the_contracts_limits():
    now = timezone.now()
    period = {"period_start": now - timedelta(hours=6), "period_end": now}
    contract.sitrep_checked({**period, "text": "s" * contract.SITREP_TEXT_MAX_LENGTH}, now=now)
    with pytest.raises(ValidationFailed) as refused:
        contract.sitrep_checked({**period, "text": "s" * (contract.SITREP_TEXT_MAX_LENGTH + 1)}, now=now)
    assert list(refused.value.errors) == ["text"]
    with pytest.raises(ValidationFailed) as refused:
        contract.update_checked(text="u" * (contract.UPDATE_TEXT_MAX_LENGTH + 1), figures=None)
    assert list(refused.value.errors) == ["text"]
    with pytest.raises(ValidationFailed) as refused:
        contract.transition_checked(status="verified", note="n" * (contract.NOTE_MAX_LENGTH + 1))
    assert list(refused.value.errors) == ["note"]


def test_the_ui_takes_the_contract_from_the_incidents_layer_not_from_the_apis_serializers():
    """No edge imports another edge's serializers: the UI reads incidents.contract."""
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "ui"
    importers = []
    for path in ui.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name == "incidents.api.serializers" or name.startswith("incidents.api.serializers.")
                   for name in names):
                importers.append(str(path.relative_to(ui.parent)))
    assert importers == []
