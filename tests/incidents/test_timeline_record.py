"""incident_timeline_record: the timeline entry other apps (alerts, mutual aid, playbooks) write
on an incident as part of their own write, in their transaction, with no event or audit entry
of its own."""

import pytest
from django.db import transaction

from config.errors import NotFound
from coordination.models import AuditEntry
from incidents.models import Incident, TimelineEntry, TimelineKind
from incidents.services import incident_timeline_record
from sharing.models import Event
from tests.conftest import SHENZHEN, ZHUHAI

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def test_it_records_an_entry_by_whoever_acted_without_an_event_or_audit_entry(report, principal_for, api_as):
    incident = Incident.objects.get(public_id=report()["id"])
    supplier = principal_for(ZHUHAI, role="operator")  # no party to the incident
    events, audit = Event.objects.count(), AuditEntry.objects.count()

    with transaction.atomic():
        entry = incident_timeline_record(incident=incident, kind=TimelineKind.MUTUAL_AID, actor=supplier,
                                         text="Zhuhai offers 4 pumps.", data={"resource_request": 7})

    assert (Event.objects.count(), AuditEntry.objects.count()) == (events, audit)
    assert (entry.author, entry.author_jurisdiction) == (supplier.label, ZHUHAI)
    timeline = api_as(SHENZHEN).get(f"/api/v1/incidents/{incident.public_id}/updates/").json()["results"]
    assert timeline[-1] | {"at": None} == {
        "id": entry.pk, "kind": "mutual_aid", "at": None, "author": supplier.label, "author_jurisdiction": ZHUHAI,
        "text": "Zhuhai offers 4 pumps.", "figures": {}, "previous_status": None, "status": None,
        "data": {"resource_request": 7},
    }


def test_it_goes_with_the_callers_transaction(report):
    public_id = report()["id"]
    with pytest.raises(Rollback), transaction.atomic():
        incident_timeline_record(incident=public_id, kind=TimelineKind.ALERT, actor=None, text="Alert drafted.")
        raise Rollback
    assert not TimelineEntry.objects.filter(kind=TimelineKind.ALERT).exists()


def test_it_takes_a_public_id_and_the_system_as_author(report):
    public_id = report()["id"]
    with transaction.atomic():
        entry = incident_timeline_record(incident=public_id, kind=TimelineKind.WORKFLOW, actor=None,
                                         text="Playbook FLOOD-III started.")
    assert (entry.incident.public_id, entry.author, entry.author_jurisdiction) == (public_id, "system", "")
    with pytest.raises(NotFound), transaction.atomic():
        incident_timeline_record(incident="INC-2026-999999", kind=TimelineKind.WORKFLOW, actor=None, text="x")


@pytest.mark.parametrize("kind", [TimelineKind.REPORTED, TimelineKind.UPDATE, TimelineKind.STATUS_CHANGED,
                                  TimelineKind.JURISDICTION_ADDED, "gossip"])
def test_it_refuses_the_kinds_the_incidents_app_writes_itself(report, kind):
    public_id = report()["id"]
    with pytest.raises(ValueError), transaction.atomic():
        incident_timeline_record(incident=public_id, kind=kind, actor=None, text="x")


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_run_outside_a_transaction(report):
    public_id = report()["id"]
    with pytest.raises(RuntimeError):
        incident_timeline_record(incident=public_id, kind=TimelineKind.ALERT, actor=None, text="x")
