"""The acknowledgement link's page without a live server: refusals in the reader's language, the
rate limit, expiry, a role that may not acknowledge."""

from datetime import timedelta

import pytest
from django.test import Client

from coordination.notify.links import LINK_MAX_AGE, token_for
from coordination.notify.models import Notification
from coordination.workflows.models import Acknowledgement, AckStatus
from tests.conftest import DONGGUAN


@pytest.fixture
def row(officer_with, flood):
    officer_with("dg-op", role="operator", contacts=[("email", "op@dg.example", 5)])
    flood()
    return Notification.objects.get()


@pytest.mark.django_db
def test_a_link_that_is_not_ours_is_a_404_in_the_readers_language():
    client = Client()
    answer = client.get("/ack/not-a-token/")
    assert answer.status_code == 404 and "此链接无效" in answer.content.decode()
    client.cookies["django_language"] = "en"
    answer = client.get("/ack/not-a-token/")
    assert answer.status_code == 404 and "This link is not valid" in answer.content.decode()
    assert answer["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
def test_an_expired_link_no_longer_acknowledges(row):
    Notification.objects.filter(pk=row.pk).update(queued_at=row.queued_at - LINK_MAX_AGE - timedelta(minutes=1))
    answer = Client().post(f"/ack/{token_for(row.pk)}/", {"comment": ""})
    assert answer.status_code == 410 and "已过期" in answer.content.decode()
    assert Acknowledgement.objects.get(jurisdiction_id=DONGGUAN).status == AckStatus.PENDING


@pytest.mark.django_db
def test_a_viewer_is_told_their_role_does_not_allow_it(officer_with, flood):
    officer_with("dg-cmd", role="commander")
    viewer = officer_with("dg-viewer", role="viewer")
    flood()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    # A viewer on duty (rosters may name anyone of the jurisdiction): reached, but may not answer.
    notification = Notification.objects.create(
        incident_id=_incident_pk(ack.incident_id), acknowledgement=ack,
        reason="ack.requested", params={"language": "en"}, recipient=viewer, jurisdiction_id=DONGGUAN,
        channel="email", address="viewer@dg.example", not_before=ack.requested_at, state="sent",
        idempotency_key=f"test.{ack.pk}.{viewer.pk}")
    answer = Client().post(f"/ack/{token_for(notification.pk)}/", {"comment": ""})
    assert answer.status_code == 403 and "Your role does not allow" in answer.content.decode()
    notification.refresh_from_db()
    assert notification.state == "sent"  # the link is not used up by a refusal
    assert Acknowledgement.objects.get(pk=ack.pk).status == AckStatus.PENDING


def _incident_pk(public_id: str) -> int:
    from incidents.models import Incident

    return Incident.objects.get(public_id=public_id).pk


@pytest.fixture
def fresh_window(settings):
    """The address's window emptied before and after (in Redis it outlives the test's cache)."""

    def clear():
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            client.delete("liandong:notify_ack_127.0.0.1")
            client.close()

    clear()
    yield
    clear()


@pytest.mark.django_db
def test_the_page_is_rate_limited_per_address(row, fresh_window):
    client = Client()
    url = f"/ack/{token_for(row.pk)}/"
    statuses = [client.get(url).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
