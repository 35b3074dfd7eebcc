"""incidents.services: every write does what it says, emits exactly one event (checked against
its schema) and leaves an audit entry; the rules refuse what they must."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.models import AuditEntry
from incidents import services
from incidents.models import AffectedJurisdiction, Incident, TimelineEntry
from tests.conftest import DONGGUAN, FOSHAN, GUANGZHOU, SHENZHEN, ZHUHAI
from tests.incidents.conftest import (
    IN_DONGGUAN,
    IN_ZHUHAI,
    INSIDE_SHENZHEN_AREA,
    SHENZHEN_DONGGUAN_AREA,
    events_emitted,
    report_body,
)

pytestmark = pytest.mark.django_db


def data(**overrides) -> dict:
    """A report as an input serializer hands it to the service (times parsed)."""
    body = report_body(**overrides)
    body["occurred_at"] = parse_datetime(body["occurred_at"])
    return body


@pytest.fixture
def shenzhen(principal_for):
    return principal_for(SHENZHEN)


def reported(actor, **overrides) -> Incident:
    return services.incident_report(actor=actor, data=data(**overrides)).incident


# --- reporting -------------------------------------------------------------------------------


def test_a_report_writes_the_incident_its_jurisdictions_timeline_one_event_and_an_audit_entry(shenzhen):
    with events_emitted() as emitted:
        outcome = services.incident_report(actor=shenzhen, data=data(affected_area=SHENZHEN_DONGGUAN_AREA))
    incident = Incident.objects.get(pk=outcome.incident.pk)
    assert outcome.created
    assert incident.public_id.startswith(f"INC-{timezone.now().year}-") or incident.public_id.startswith("INC-")
    assert incident.cross_border and incident.cluster_id == "GBA" and incident.version == 1
    assert sorted(incident.affected.values_list("jurisdiction_id", flat=True)) == [SHENZHEN, DONGGUAN]
    assert list(incident.timeline.values_list("kind", flat=True)) == ["reported"]
    assert emitted.names == ["incident.created"]
    event = emitted.events[0]
    assert event.payload == outcome.data
    assert event.subject_id == incident.public_id and event.owner == SHENZHEN
    assert event.jurisdiction_codes == [SHENZHEN, DONGGUAN] and event.level == "III"
    audit = AuditEntry.objects.get(action="incident.reported")
    assert audit.object_id == incident.public_id and audit.actor_jurisdiction == SHENZHEN


def test_the_public_id_is_stable_and_url_safe(shenzhen):
    incident = reported(shenzhen)
    assert incident.public_id == f"INC-{incident.created_at.astimezone().year:04d}-{incident.pk:06d}"


def test_an_exercise_is_labelled_in_the_incident_and_its_event(shenzhen):
    with events_emitted() as emitted:
        outcome = services.incident_report(actor=shenzhen, data=data(exercise=True))
    assert outcome.incident.exercise and outcome.data["exercise"] is True
    assert emitted.events[0].exercise and emitted.events[0].payload["exercise"] is True


def test_a_report_needs_the_reporting_role(principal_for):
    with pytest.raises(PermissionDenied):
        services.incident_report(actor=principal_for(SHENZHEN, role="viewer"), data=data())
    with pytest.raises(PermissionDenied):
        services.incident_report(actor=principal_for(SHENZHEN, scopes=["read"]), data=data())


def test_the_type_must_belong_to_the_category(shenzhen):
    with pytest.raises(ValidationFailed) as refused:
        services.incident_report(actor=shenzhen, data=data(category="natural_disaster", type="hazmat"))
    assert "type" in refused.value.errors


def test_an_occurrence_far_in_the_future_is_refused_but_clock_skew_is_not(shenzhen):
    with pytest.raises(ValidationFailed) as refused:
        services.incident_report(actor=shenzhen, data=data(occurred_at=(timezone.now() + timedelta(hours=2))
                                                            .isoformat()))
    assert "occurred_at" in refused.value.errors
    reported(shenzhen, occurred_at=(timezone.now() + timedelta(minutes=2)).isoformat())


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_external_id_again_changes_nothing_and_emits_nothing(shenzhen):
    body = data(external_id="SZ-2026-0001")
    first = services.incident_report(actor=shenzhen, data=body)
    with events_emitted() as emitted:
        again = services.incident_report(actor=shenzhen, data=body)
    assert not again.created and again.changed == [] and again.incident.pk == first.incident.pk
    assert emitted.events == [] and Incident.objects.count() == 1
    assert again.data == first.data


def test_the_same_external_id_with_news_updates_the_incident_once(shenzhen):
    body = data(external_id="SZ-2026-0002")
    first = services.incident_report(actor=shenzhen, data=body)
    with events_emitted() as emitted:
        again = services.incident_report(
            actor=shenzhen,
            data={**body, "level": "II", "casualties": {"injured": 4}, "affected_area": SHENZHEN_DONGGUAN_AREA},
        )
    assert not again.created
    assert again.changed == ["affected_area", "affected_jurisdictions", "casualties", "cross_border", "level"]
    incident = Incident.objects.get(pk=first.incident.pk)
    assert incident.version == 2 and incident.level == "II" and incident.injured == 4 and incident.cross_border
    assert emitted.names == ["incident.updated"]
    assert emitted.events[0].payload["changed"] == again.changed
    assert AuditEntry.objects.filter(action="incident.updated").count() == 1


def test_external_ids_are_per_jurisdiction(shenzhen, principal_for):
    reported(shenzhen, external_id="A-1")
    reported(principal_for(DONGGUAN), external_id="A-1", location=IN_DONGGUAN)
    assert Incident.objects.count() == 2


def test_a_repeat_cannot_turn_a_drill_into_a_real_incident(shenzhen):
    reported(shenzhen, external_id="D-1", exercise=True)
    with pytest.raises(Conflict) as refused:
        services.incident_report(actor=shenzhen, data=data(external_id="D-1"))
    assert "exercise" in refused.value.errors


# --- changes ---------------------------------------------------------------------------------


def test_a_change_bumps_the_version_and_recomputes_the_jurisdictions(shenzhen):
    incident = reported(shenzhen, affected_area=SHENZHEN_DONGGUAN_AREA)
    with events_emitted() as emitted:
        outcome = services.incident_update(
            actor=shenzhen, public_id=incident.public_id, data={"affected_area": INSIDE_SHENZHEN_AREA},
            expected_version=1,
        )
    assert outcome.changed == ["affected_area", "affected_jurisdictions", "cross_border"]
    assert outcome.data["affected_jurisdictions"] == [SHENZHEN] and not outcome.data["cross_border"]
    assert outcome.data["version"] == 2
    assert emitted.names == ["incident.updated"]


def test_a_stale_version_is_a_conflict(shenzhen):
    incident = reported(shenzhen)
    services.incident_update(actor=shenzhen, public_id=incident.public_id, data={"title": "v2"}, expected_version=1)
    with pytest.raises(Conflict):
        services.incident_update(actor=shenzhen, public_id=incident.public_id, data={"title": "v3"},
                                 expected_version=1)


def test_only_the_reporter_changes_an_incident_and_others_may_not_learn_it_exists(shenzhen, principal_for):
    incident = reported(shenzhen, level="IV", affected_area=SHENZHEN_DONGGUAN_AREA)
    with pytest.raises(PermissionDenied):  # Dongguan sees it (affected) but does not own it
        services.incident_update(actor=principal_for(DONGGUAN), public_id=incident.public_id, data={"title": "x"})
    with pytest.raises(NotFound):  # Foshan does not see a level IV incident of Shenzhen
        services.incident_update(actor=principal_for(FOSHAN), public_id=incident.public_id, data={"title": "x"})
    with pytest.raises(NotFound):
        services.incident_update(actor=shenzhen, public_id="INC-2026-999999", data={"title": "x"})


def test_a_closed_incident_cannot_be_changed(principal_for):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    for status in ("verified", "responding", "contained", "closed"):
        services.incident_transition(actor=commander, public_id=incident.public_id, status=status, note="done")
    with pytest.raises(Conflict):
        services.incident_update(actor=commander, public_id=incident.public_id, data={"title": "late"})


# --- lifecycle -------------------------------------------------------------------------------


def test_transitions_follow_the_lifecycle_with_a_timeline_entry_and_one_event_each(principal_for):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    for status in ("verified", "responding", "contained", "closed"):
        with events_emitted() as emitted:
            outcome = services.incident_transition(actor=commander, public_id=incident.public_id, status=status,
                                                   note=f"now {status}")
        assert outcome.data["status"] == status
        assert emitted.names == ["incident.status_changed"]
        assert emitted.events[0].payload["status"] == status
    entries = list(TimelineEntry.objects.filter(incident_id=incident.pk).order_by("at", "id"))
    assert [(e.kind, e.status) for e in entries] == [
        ("reported", ""), ("status_changed", "verified"), ("status_changed", "responding"),
        ("status_changed", "contained"), ("status_changed", "closed"),
    ]
    assert Incident.objects.get(pk=incident.pk).version == 5


def test_a_move_the_lifecycle_forbids_is_a_conflict(principal_for):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    with pytest.raises(Conflict) as refused:
        services.incident_transition(actor=commander, public_id=incident.public_id, status="closed")
    assert refused.value.extra["allowed"] == ["cancelled", "verified"]


@pytest.mark.parametrize(
    "path", [[], ["verified"], ["verified", "responding"], ["verified", "responding", "contained"]]
)
def test_any_open_incident_can_be_cancelled(principal_for, path):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    for status in path:
        services.incident_transition(actor=commander, public_id=incident.public_id, status=status)
    services.incident_transition(actor=commander, public_id=incident.public_id, status="cancelled",
                                 note="false alarm")
    with pytest.raises(Conflict):
        services.incident_transition(actor=commander, public_id=incident.public_id, status="verified")


def test_moving_to_the_current_status_changes_nothing(principal_for):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    services.incident_transition(actor=commander, public_id=incident.public_id, status="verified")
    with events_emitted() as emitted:
        outcome = services.incident_transition(actor=commander, public_id=incident.public_id, status="verified")
    assert emitted.events == [] and outcome.changed == [] and outcome.data["version"] == 2


def test_who_may_transition(principal_for):
    incident = reported(principal_for(SHENZHEN), level="IV", affected_area=SHENZHEN_DONGGUAN_AREA)
    move = dict(public_id=incident.public_id, status="verified")
    with pytest.raises(PermissionDenied):  # an operator reports but does not transition
        services.incident_transition(actor=principal_for(SHENZHEN, role="operator"), **move)
    with pytest.raises(PermissionDenied):  # a commander of an affected jurisdiction that is not the reporter
        services.incident_transition(actor=principal_for(DONGGUAN, role="commander"), **move)
    with pytest.raises(NotFound):
        services.incident_transition(actor=principal_for(GUANGZHOU, role="commander"), **move)
    services.incident_transition(actor=principal_for(SHENZHEN, scopes=["incidents:write"]), **move)


def test_an_unknown_status_names_the_field(principal_for):
    commander = principal_for(SHENZHEN, role="commander")
    incident = reported(commander)
    with pytest.raises(ValidationFailed) as refused:
        services.incident_transition(actor=commander, public_id=incident.public_id, status="resolved")
    assert "status" in refused.value.errors


# --- timeline and jurisdictions ------------------------------------------------------------------


def test_an_affected_jurisdiction_adds_to_the_timeline(shenzhen, principal_for):
    incident = reported(shenzhen, affected_area=SHENZHEN_DONGGUAN_AREA)
    with events_emitted() as emitted:
        _, entry = services.incident_update_add(
            actor=principal_for(DONGGUAN), public_id=incident.public_id, text="Road closed at the border",
            figures={"evacuated": 120},
        )
    assert entry["kind"] == "update" and entry["author_jurisdiction"] == DONGGUAN
    assert entry["figures"] == {"evacuated": 120}
    assert emitted.names == ["incident.update_added"]
    assert emitted.events[0].payload["entry"] == entry


def test_a_jurisdiction_that_sees_but_is_not_affected_cannot_add_to_the_timeline(shenzhen, principal_for):
    incident = reported(shenzhen, level="II")  # every member sees level II; Guangzhou is not affected
    with pytest.raises(PermissionDenied):
        services.incident_update_add(actor=principal_for(GUANGZHOU), public_id=incident.public_id, text="hello")


def test_a_jurisdiction_added_by_hand_is_recorded_as_such_and_survives_recomputation(principal_for):
    officer = principal_for(SHENZHEN, role="operator")
    incident = reported(officer)
    with events_emitted() as emitted:
        outcome = services.incident_jurisdiction_add(actor=officer, public_id=incident.public_id, jurisdiction=ZHUHAI)
    assert emitted.names == ["incident.updated"]
    assert outcome.data["affected_jurisdictions"] == [SHENZHEN, ZHUHAI] and outcome.data["cross_border"]
    assert outcome.data["affected_jurisdictions_added_manually"] == [ZHUHAI]
    row = AffectedJurisdiction.objects.get(incident_id=incident.pk, jurisdiction_id=ZHUHAI)
    assert row.added_manually and row.added_by.endswith(f"@{SHENZHEN}")
    outcome = services.incident_update(actor=officer, public_id=incident.public_id,
                                       data={"affected_area": SHENZHEN_DONGGUAN_AREA})
    assert sorted(outcome.data["affected_jurisdictions"]) == sorted([SHENZHEN, DONGGUAN, ZHUHAI])
    with pytest.raises(ValidationFailed):
        services.incident_jurisdiction_add(actor=officer, public_id=incident.public_id, jurisdiction="999999")


def test_a_report_from_zhuhai_is_not_cross_border(principal_for):
    incident = reported(principal_for(ZHUHAI), location=IN_ZHUHAI)
    assert not incident.cross_border and incident.cluster_id == "GBA"
