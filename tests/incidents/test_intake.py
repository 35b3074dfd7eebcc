"""incidents.intake.insert_new_incidents: one contract, two implementations (one SQL statement
on PostgreSQL, ORM calls elsewhere). The contract runs on both databases; on PostgreSQL the
two are also run side by side and must write the same rows."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from coordination.models import AuditEntry
from incidents import contract, intake, services
from incidents.models import AffectedJurisdiction, Incident, TimelineEntry
from sharing.models import Event
from tests.conftest import SHENZHEN
from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA
from tests.incidents.test_services import data

pytestmark = pytest.mark.django_db


@pytest.fixture
def shenzhen(principal_for):
    return principal_for(SHENZHEN, role="operator")


def prepared(actor, **overrides) -> intake.NewIncident:
    body = data(**overrides)
    now = timezone.now()
    given = contract.report_checked(body, now=now, new=True)
    return services._new_incident(actor=actor, data=body, given=given, now=now)


def test_it_inserts_free_keys_and_skips_taken_ones_in_order(shenzhen):
    with transaction.atomic():
        first = intake.insert_new_incidents([prepared(shenzhen, external_id="k1")])
    with transaction.atomic():
        results = intake.insert_new_incidents([
            prepared(shenzhen, external_id="k1"),  # taken by an earlier incident
            prepared(shenzhen, external_id="k2"),
            prepared(shenzhen),  # no key: never taken
            prepared(shenzhen, external_id="k2"),  # taken earlier in the same call
            prepared(shenzhen),
        ])
    assert first[0] is not None
    assert results[0] is None and results[3] is None
    assert all(isinstance(pk, int) for pk in (results[1], results[2], results[4]))
    assert Incident.objects.count() == 4
    assert Event.objects.filter(name="incident.created").count() == 4
    assert AuditEntry.objects.filter(action="incident.reported").count() == 4
    assert TimelineEntry.objects.count() == 4


def test_it_sets_the_public_id_everywhere_it_appears(shenzhen):
    new = prepared(shenzhen, affected_area=SHENZHEN_DONGGUAN_AREA)
    with transaction.atomic():
        [pk] = intake.insert_new_incidents([new])
    incident = Incident.objects.get(pk=pk)
    assert incident.public_id == new.incident.public_id and incident.public_id.endswith(f"-{pk:06d}")
    event = Event.objects.get(subject_id=incident.public_id)
    assert event.payload["id"] == incident.public_id
    assert AuditEntry.objects.get(action="incident.reported").object_id == incident.public_id
    assert AffectedJurisdiction.objects.filter(incident=incident).count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_commits_all_or_nothing_by_itself(shenzhen):
    [pk] = intake.insert_new_incidents([prepared(shenzhen, external_id="alone")])
    assert Incident.objects.filter(pk=pk).exists() and Event.objects.filter(subject_type="incident").count() == 1
    broken = prepared(shenzhen, external_id="broken")
    broken.incident.level = "V"  # refused by the database's check constraint
    with pytest.raises(IntegrityError):
        intake.insert_new_incidents([prepared(shenzhen, external_id="fine"), broken])
    assert Incident.objects.count() == 1 and Event.objects.filter(subject_type="incident").count() == 1
    assert AuditEntry.objects.filter(action="incident.reported").count() == 1


def _rows(pk: int) -> dict:
    """Everything a report wrote, without what differs between two reports by construction."""
    incident = Incident.objects.get(pk=pk)
    public_id = incident.public_id
    event = Event.objects.get(subject_id=public_id)
    audit = AuditEntry.objects.get(object_id=public_id)

    def strip(row: dict, *names) -> dict:
        return {key: value for key, value in row.items() if key not in names}

    return {
        "incident": strip(model_to_dict(incident), "id", "public_id", "external_id"),
        "affected": [
            strip(model_to_dict(row), "id", "incident")
            for row in AffectedJurisdiction.objects.filter(incident=pk).order_by("jurisdiction")
        ],
        "timeline": [strip(model_to_dict(row), "id", "incident") for row in TimelineEntry.objects.filter(incident=pk)],
        "event": strip(model_to_dict(event), "id", "subject_id", "payload")
        | {"payload": strip(event.payload, "id", "external_id")},
        # `at` is when the entry was written: audit_record takes it at its INSERT.
        "audit": strip(model_to_dict(audit), "id", "object_id", "detail", "at")
        | {"detail": strip(audit.detail, "external_id")},
    }


def test_one_statement_and_the_orm_write_the_same_rows(shenzhen, postgres):
    now = timezone.now()
    twins = []
    for key in ("via-statement", "via-orm"):
        body = data(external_id=key, occurred_at=(now - timedelta(hours=1)).isoformat(),
                    affected_area=SHENZHEN_DONGGUAN_AREA, casualties={"injured": 2},
                    contacts=[{"name": "Duty desk", "phone": "+86 755 1234 5678"}])
        given = contract.report_checked(body, now=now, new=True)
        twins.append(services._new_incident(actor=shenzhen, data=body, given=given, now=now))
    with transaction.atomic():
        [via_statement] = intake._insert_in_one_statement([twins[0]])
        [via_orm] = intake._insert_with_orm([twins[1]])
    assert _rows(via_statement) == _rows(via_orm)
