"""`GET /api/v1/notifications/?incident=…`: who was reached, seen as the incident is; addresses
only for those coordination.people lets see the recipient's contact details."""

import pytest

from coordination.models import AuditEntry
from tests.conftest import DONGGUAN, GUANGZHOU, HONG_KONG, SHENZHEN

GUANGDONG = "440000"


@pytest.mark.django_db
def test_who_was_reached_per_recipient_and_channel(api_as, on_duty_in_dongguan, flood):
    primary, backup = on_duty_in_dongguan
    public_id = flood()
    answer = api_as(DONGGUAN, role="commander").get("/api/v1/notifications/", {"incident": public_id})
    assert answer.status_code == 200, answer.content
    items = answer.json()["results"]
    assert [(item["recipient"], item["channel"], item["state"], item["jurisdiction"]) for item in items] == [
        ("dg-primary", "email", "queued", DONGGUAN), ("dg-primary", "sms", "queued", DONGGUAN),
        ("dg-backup", "email", "queued", DONGGUAN)]
    assert items[0]["address"] == "primary@dg.example"  # Dongguan's commander may see its officers' details
    assert {"queued_at", "sent_at", "delivered_at", "failed_at", "opened_at", "acknowledged_at"} <= set(items[0])
    assert AuditEntry.objects.filter(action="contacts.read", object_id=public_id).exists()


@pytest.mark.django_db
def test_the_reporter_sees_who_was_reached_but_not_their_addresses(api_as, on_duty_in_dongguan, flood):
    public_id = flood()
    answer = api_as(SHENZHEN, role="commander").get("/api/v1/notifications/", {"incident": public_id})
    assert answer.status_code == 200
    items = answer.json()["results"]
    assert len(items) == 3 and {item["address"] for item in items} == {None}


@pytest.mark.django_db
def test_seen_as_the_incident_is(api_as, on_duty_in_dongguan, flood):
    public_id = flood()
    # Hong Kong sees a level III incident of Shenzhen, a core city (the cluster default): who
    # was reached, never where.
    answer = api_as(HONG_KONG, role="commander").get("/api/v1/notifications/", {"incident": public_id})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 3 and {item["address"] for item in answer.json()["results"]} == {None}
    # Guangdong province is in no cluster with Shenzhen's default: the incident does not exist for it.
    assert api_as(GUANGDONG, role="commander").get("/api/v1/notifications/", {"incident": public_id}).status_code \
        == 404
    assert api_as(GUANGZHOU).get("/api/v1/notifications/", {"incident": "INC-2026-999999"}).status_code == 404
    assert api_as(GUANGZHOU).get("/api/v1/notifications/").status_code == 400
