"""Situation reports: per jurisdiction per operational period, and the joint report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import NotFound, PermissionDenied, ValidationFailed
from incidents import selectors, services
from incidents.models import SituationReport
from tests.conftest import DONGGUAN, FOSHAN, GUANGZHOU, SHENZHEN
from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA, events_emitted, report_body
from tests.incidents.test_services import data

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def period(hours_ago: int) -> dict:
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - hours_ago * HOUR
    return {"period_start": start, "period_end": start + 4 * HOUR}


@pytest.fixture
def shenzhen(principal_for):
    return principal_for(SHENZHEN)


@pytest.fixture
def dongguan(principal_for):
    return principal_for(DONGGUAN)


@pytest.fixture
def incident(shenzhen):
    return services.incident_report(actor=shenzhen, data=data(affected_area=SHENZHEN_DONGGUAN_AREA)).incident


def submit(actor, incident, **fields):
    return services.sitrep_submit(actor=actor, public_id=incident.public_id, data={**period(8), **fields})


def test_a_jurisdiction_reports_once_per_period_and_again_replaces_it(shenzhen, incident):
    with events_emitted() as emitted:
        first = submit(shenzhen, incident, figures={"injured": 3}, text="Leak contained at the source")
    assert first.created and emitted.names == ["sitrep.submitted"]
    assert emitted.events[0].data_kind == "sitreps"
    with events_emitted() as emitted:
        second = submit(shenzhen, incident, figures={"injured": 5}, text="Leak contained at the source")
    assert not second.created and second.changed == ["injured"] and second.data["version"] == 2
    assert emitted.names == ["sitrep.updated"]
    with events_emitted() as emitted:
        third = submit(shenzhen, incident, figures={"injured": 5}, text="Leak contained at the source")
    assert third.changed == [] and emitted.events == []
    assert SituationReport.objects.count() == 1


def test_the_joint_report_sums_the_latest_of_each_affected_jurisdiction_and_names_the_missing(
    shenzhen, dongguan, incident, principal_for
):
    submit(shenzhen, incident, figures={"injured": 3, "evacuated": 100})
    services.sitrep_submit(actor=shenzhen, public_id=incident.public_id,
                           data={**period(4), "figures": {"injured": 4, "evacuated": 150, "shelters_open": 2}})
    joint = selectors.joint_sitrep_read_by(principal=shenzhen, public_id=incident.public_id)
    assert joint["reported"] == [SHENZHEN] and joint["missing"] == [DONGGUAN]
    assert joint["totals"]["injured"] == 4 and joint["totals"]["evacuated"] == 150
    submit(dongguan, incident, figures={"injured": 1, "resources_deployed": 6}, needs="Foam, 20 t")
    joint = selectors.joint_sitrep_read_by(principal=principal_for(DONGGUAN), public_id=incident.public_id)
    assert joint["missing"] == [] and joint["reported"] == [SHENZHEN, DONGGUAN]
    assert joint["totals"] == {"deaths": 0, "injured": 5, "missing": 0, "evacuated": 150, "shelters_open": 2,
                               "resources_deployed": 6}


def test_drill_reports_stay_out_of_a_real_incidents_figures(shenzhen, dongguan, incident):
    submit(shenzhen, incident, figures={"injured": 2})
    submit(dongguan, incident, figures={"injured": 50}, exercise=True)
    joint = selectors.joint_sitrep_read_by(principal=shenzhen, public_id=incident.public_id)
    assert joint["totals"]["injured"] == 2 and joint["missing"] == [DONGGUAN]
    assert joint["exercise_reports_excluded"] == 1 and joint["exercise"] is False


def test_an_exercise_incident_counts_its_own_drill_reports(shenzhen):
    drill = services.incident_report(actor=shenzhen, data=data(exercise=True)).incident
    outcome = submit(shenzhen, drill, figures={"injured": 7})
    assert outcome.data["exercise"] is True
    joint = selectors.joint_sitrep_read_by(principal=shenzhen, public_id=drill.public_id)
    assert joint["exercise"] is True and joint["totals"]["injured"] == 7


def test_only_the_reporter_and_affected_jurisdictions_report(shenzhen, principal_for):
    incident = services.incident_report(actor=shenzhen, data=data(level="II")).incident
    with pytest.raises(PermissionDenied):  # sees level II, is not affected
        submit(principal_for(GUANGZHOU), incident)
    quiet = services.incident_report(actor=shenzhen, data=data(level="IV")).incident
    with pytest.raises(NotFound):
        submit(principal_for(FOSHAN), quiet)
    with pytest.raises(NotFound):
        selectors.joint_sitrep_read_by(principal=principal_for(FOSHAN), public_id=quiet.public_id)


def test_a_period_must_end_after_it_starts_and_not_start_in_the_future(shenzhen, incident):
    start = timezone.now() - HOUR
    with pytest.raises(ValidationFailed) as refused:
        services.sitrep_submit(actor=shenzhen, public_id=incident.public_id,
                               data={"period_start": start, "period_end": start})
    assert "period_end" in refused.value.errors
    start = timezone.now() + 3 * HOUR
    with pytest.raises(ValidationFailed) as refused:
        services.sitrep_submit(actor=shenzhen, public_id=incident.public_id,
                               data={"period_start": start, "period_end": start + HOUR})
    assert "period_start" in refused.value.errors


def test_the_api_serves_json_and_a_printable_page(api_as):
    client = api_as(SHENZHEN)
    created = client.post("/api/v1/incidents/", report_body(affected_area=SHENZHEN_DONGGUAN_AREA), format="json")
    incident_id = created.json()["id"]
    start = (timezone.now() - 5 * HOUR).replace(microsecond=0)
    body = {"period_start": start.isoformat(), "period_end": (start + 4 * HOUR).isoformat(),
            "figures": {"deaths": 1, "evacuated": 300}, "needs": "Tents", "text": "Evacuation of Kengzi"}
    response = client.post(f"/api/v1/incidents/{incident_id}/sitreps/", body, format="json")
    assert response.status_code == 201, response.json()
    assert client.post(f"/api/v1/incidents/{incident_id}/sitreps/", body, format="json").status_code == 200
    listed = client.get(f"/api/v1/incidents/{incident_id}/sitreps/").json()
    assert [item["figures"]["evacuated"] for item in listed["results"]] == [300]
    joint = client.get(f"/api/v1/incidents/{incident_id}/sitrep/").json()
    assert joint["totals"]["deaths"] == 1 and joint["missing"] == [DONGGUAN]
    page = client.get(f"/api/v1/incidents/{incident_id}/sitrep/print/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert incident_id in html and "Evacuation of Kengzi" in html and "东莞" in html  # Dongguan: missing


def test_the_printable_page_is_a_problem_404_for_someone_who_may_not_see_it(api_as, report):
    incident = report(level="IV")
    response = api_as(FOSHAN).get(f"/api/v1/incidents/{incident['id']}/sitrep/print/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response.json()["status"] == 404


@pytest.mark.parametrize("body, field", [
    ({"period_end": "2026-01-01T00:00:00+08:00"}, "period_start"),
    ({"figures": {"evacuated": -1}}, "figures.evacuated"),
    ({"figures": {"rescued": 1}}, "figures.rescued"),
    ({"needs": "x" * 2001}, "needs"),
    ({"text": "x" * 10_001}, "text"),
])
def test_bad_situation_reports_are_400_naming_the_field(api_as, report, body, field):
    incident = report()
    start = timezone.now() - 5 * HOUR
    full = {"period_start": start.isoformat(), "period_end": (start + HOUR).isoformat(), **body}
    if field == "period_start":
        del full["period_start"]
    response = api_as(SHENZHEN).post(f"/api/v1/incidents/{incident['id']}/sitreps/", full, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_resubmission_changes_only_what_it_gives(shenzhen, incident):
    submit(shenzhen, incident, figures={"injured": 2, "evacuated": 50}, needs="Water", exercise=True)
    outcome = submit(shenzhen, incident, figures={"injured": 3})
    assert outcome.changed == ["injured"]
    assert outcome.data["figures"]["evacuated"] == 50 and outcome.data["needs"] == "Water"
    assert outcome.data["exercise"] is True
