"""Who was reached (issue 20): notification.* events per state change, seen as the incident is,
and the incident page's "Who was reached" part in every language, without addresses or codes."""

import re

import pytest
from django.test import Client

from coordination.notify import sending, services
from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from sharing.eventlog import sequence_pending
from sharing.models import Event
from tests.conftest import DONGGUAN, SHENZHEN, ZHUHAI

pytestmark = pytest.mark.django_db


def notification_events(api, **query):
    answer = api.get("/api/v1/events/", {"since": 0, "limit": 500, **query})
    assert answer.status_code == 200, answer.content
    return [item for item in answer.json()["results"] if item["event"].startswith("notification.")]


def test_each_state_change_is_an_event_seen_as_the_incident_is(smtp, on_duty_in_dongguan, flood, api_as,
                                                                principal_for):
    from incidents.services import incident_update
    from tests.workflows.conftest import deliver

    primary, _ = on_duty_in_dongguan
    public_id = flood()  # level III: the playbook asks Dongguan
    # Lowered to level IV before anything is sent: the events are judged by the level IV facts.
    incident_update(actor=principal_for(SHENZHEN, role="commander"), public_id=public_id, data={"level": "IV"})
    deliver()
    # Queued rows emit nothing (written in bulk with the request).
    assert not Event.objects.filter(name__startswith="notification.").exists()
    sending.send_due()
    sent = Event.objects.filter(name="notification.sent")
    assert sent.count() >= 1  # the primary's e-mail at least (the SMS waits 5 minutes)
    row = Notification.objects.get(recipient=primary, channel="email")
    data = sent.get(payload__id=str(row.pk)).payload
    assert data["incident"] == public_id and data["jurisdiction"] == DONGGUAN
    assert data["recipient"] == "dg-primary" and data["channel"] == "email" and data["state"] == State.SENT
    assert "primary@dg.example" not in str(data)  # the address is personal data
    row.refresh_from_db()
    row.provider_id = "receipt-1"
    row.save(update_fields=["provider_id"])
    services.notification_receipt(channel="email", provider_id="receipt-1", delivered=True)
    services.notification_opened(notification=row)
    services.notification_opened(notification=row)  # only the first opening is told
    from django.db import transaction

    with transaction.atomic():
        assert services.notification_acknowledged(notification=row)
    names = list(Event.objects.filter(payload__id=str(row.pk)).order_by("id").values_list("name", flat=True))
    assert names == ["notification.sent", "notification.delivered", "notification.opened",
                     "notification.acknowledged"]
    sequence_pending()
    total = Event.objects.filter(name__startswith="notification.").count()
    # Shenzhen reported it, Dongguan was reached: both see; Zhuhai, no neighbour of a level IV
    # incident of Shenzhen, sees none of it.
    assert len(notification_events(api_as(SHENZHEN, role="commander"))) == total
    assert len(notification_events(api_as(DONGGUAN, role="commander"))) == total
    assert notification_events(api_as(ZHUHAI, role="commander")) == []


def test_a_failure_tells_its_kind_not_its_code(smtp, officer_with, flood, settings):
    settings.SMS_PROVIDER = ""  # a permanent "not_configured"
    officer_with("dg-night", role="commander", contacts=[("sms", "+8613800138001", 10)])
    flood()
    sending.send_due()
    data = Event.objects.get(name="notification.failed").payload
    assert data["error_kind"] == "not_configured" and data["state"] == "failed" and data["channel"] == "sms"
    assert "+8613800138001" not in str(data)


RAW = re.compile(r"\b(queued|sent|delivered|failed|acknowledged|email|sms|not_configured|\d{6})\b")


@pytest.mark.parametrize(("language", "title", "sent_word"), [
    ("zh-hans", "联络到谁", "已发送"), ("zh-hant", "聯絡到誰", "已發送"), ("en", "Who was reached", "Sent")])
def test_the_page_part_in_each_language(smtp, on_duty_in_dongguan, flood, make_officer, language, title,
                                        sent_word, settings):
    settings.SMS_PROVIDER = ""
    public_id = flood()
    sending.send_due()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(make_officer("sz-reader", SHENZHEN, "commander"))
    page = client.get(f"/incidents/{public_id}/")
    assert page.status_code == 200
    assert f"/incidents/{public_id}/reached/" in page.content.decode()
    part = client.get(f"/incidents/{public_id}/reached/")
    assert part.status_code == 200
    html = part.content.decode()
    assert title in html and sent_word in html and "dg-primary" in html and "dg-backup" in html
    assert "@dg.example" not in html and "+86" not in html  # never an address
    text = re.sub(r"<[^>]+>", " ", html)
    assert not RAW.findall(text), RAW.findall(text)
    other = Client(HTTP_ACCEPT_LANGUAGE=language)
    other.force_login(make_officer("gd-outsider", "440000", "commander"))
    assert other.get(f"/incidents/{public_id}/reached/").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_stream_subscriber_receives_notification_sent(smtp, on_duty_in_dongguan, flood, credentials):
    """A real websocket subscriber of Dongguan (the jurisdiction reached) gets notification.sent
    through the real dispatcher (tests/stream/test_consumer.py's pattern), in either mode."""
    from channels.db import database_sync_to_async

    from sharing.tasks import dispatch_pending
    from tests.stream.test_consumer import next_of, open_stream

    communicator, _ = await open_stream(await database_sync_to_async(credentials.token)(DONGGUAN))
    public_id = await database_sync_to_async(flood)()
    await database_sync_to_async(sending.send_due)()
    await database_sync_to_async(dispatch_pending)()
    seen = []
    for _ in range(100):
        message = await next_of(communicator, "event", timeout=10)
        seen.append(message["event"])
        if message["event"] == "notification.sent":
            break
    else:
        raise AssertionError(seen)
    data = message["data"]
    assert data["incident"] == public_id and data["jurisdiction"] == DONGGUAN and data["channel"] == "email"
    assert "@dg.example" not in str(data)
    await communicator.disconnect()


def test_the_dashboard_feed_names_each_event_in_the_readers_language():
    from django.utils import translation

    from coordination.notify.events import EVENTS
    from ui import labels

    with translation.override("zh-hans"):
        assert str(labels.EVENT_LABELS["notification.sent"]) == "消息已发送"
    assert set(EVENTS.values()) <= set(labels.EVENT_LABELS)
