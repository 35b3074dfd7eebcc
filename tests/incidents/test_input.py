"""incidents.api.serializers.incident_input: plain reports are checked without DRF's field
machinery, everything else by IncidentInput. Both must give the same answer for every input:
the same data, or the same errors (so the same problem details)."""

import pytest
from rest_framework.exceptions import ValidationError

from incidents.api.serializers import IncidentInput, incident_input
from incidents.contract_fast import plain_report
from tests.incidents.conftest import INSIDE_SHENZHEN_AREA, SHENZHEN_DONGGUAN_AREA, report_body
from tests.incidents.test_bad_input import BAD_REPORTS

PLAIN = [
    report_body(),
    report_body(description="Tanker overturned.\nRoad closed.", external_id="SZ-2026-0042", exercise=True),
    report_body(title="  padded title  ", external_id="  padded-key ", description="   "),
    report_body(affected_area=SHENZHEN_DONGGUAN_AREA, casualties={"deaths": 1, "injured": 12}),
    report_body(affected_area={"circle": {"lat": 22.6, "lon": 114.05, "radius_m": 1500}}, exercise=False),
    report_body(affected_area=None, casualties={}, casualty_details=[], contacts=[]),
    report_body(location={"lat": -90, "lon": 180}, casualties={"evacuated": 100_000_000}),
    report_body(location={"lat": 22, "lon": 114}, occurred_at="2026-03-01T08:00:00Z"),
    report_body(occurred_at="2026-03-01T08:00:00", title="标题：深圳坪山危化品泄漏"),
    report_body(occurred_at="2026-03-01T16:00:00.250+08:00"),
    report_body(title="x" * 200, description="y" * 10_000, external_id="z" * 100),
]

UNUSUAL = [  # for DRF alone: accepted or refused, but not plainly
    report_body(title=12345),
    report_body(exercise="true"),
    report_body(exercise=1),
    report_body(casualties={"deaths": True}),
    report_body(location={"lat": "22.6", "lon": 114.0}),
    report_body(location={"lat": True, "lon": 114.0}),
    report_body(location={"lat": 22.6, "lon": 114.0, "alt": 3}),
    report_body(category=["accident"]),
    report_body(level=None),
    report_body(description=None),
    report_body(title="\x00"),
    report_body(title="a\ud800b"),
    report_body(description="nul \x00 in text"),
    report_body(external_id=""),
    report_body(external_id=7),
    report_body(occurred_at=1_700_000_000),
    report_body(occurred_at="2026-02-30T08:00:00Z"),
    report_body(occurred_at="0001-01-01T00:00:00+14:00"),
    report_body(occurred_at="2026-03-01 08:00"),
    report_body(casualty_details=[{"name": "Li", "condition": "injured", "age": 40}]),
    report_body(contacts=[{"name": "Duty desk", "phone": "+86 755 1234 5678"}]),
    report_body(casualty_details="none"),
    report_body(affected_area="the harbour"),
    [report_body()],
    "a report",
    None,
    7,
]


def answer(check, data):
    try:
        return "valid", check(data)
    except ValidationError as exc:
        return "refused", exc.detail


def drf(data):
    return IncidentInput().run_validation(data)


CASES = PLAIN + UNUSUAL + [report_body(**overrides) for _, overrides, _ in BAD_REPORTS]


@pytest.mark.parametrize("data", CASES)
def test_it_answers_as_incident_input_does(data):
    assert answer(incident_input, data) == answer(drf, data)


@pytest.mark.parametrize("data", PLAIN)
def test_plain_reports_are_checked_without_drf(data):
    assert plain_report(data) == drf(data)


@pytest.mark.parametrize("data", UNUSUAL + [report_body(**overrides) for _, overrides, _ in BAD_REPORTS])
def test_what_drf_refuses_is_never_plain(data):
    """(What only the rules refuse, in incidents.services, DRF accepts: the same data then.)"""
    if answer(drf, data)[0] == "valid":
        assert plain_report(data) in (None, drf(data))
    else:
        assert plain_report(data) is None


def test_an_area_is_passed_on_for_the_rules_to_check():
    area = dict(INSIDE_SHENZHEN_AREA, bbox=[114.0, 22.56, 114.08, 22.62])
    assert plain_report(report_body(affected_area=area))["affected_area"] is area
