"""The SMS gateway's authenticated callbacks: delivery receipts move a row, forged or stale ones change nothing.

The gateway stand-in (tests/notify/servers.py) posts each callback as the real one would, signed
over the exact body, through HTTP to the Django application (an httpx client bound to the WSGI
application, so it runs inside the test's database transaction).
"""

import time
import uuid
from datetime import timedelta

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone

from coordination.notify.models import Notification
from coordination.notify.providers.base import Message
from coordination.notify.providers.replies import reply_code_for
from coordination.notify.providers.sms_gateway import SmsGatewayProvider
from incidents import services as incident_services
from tests.conftest import DONGGUAN, SHENZHEN
from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA
from tests.incidents.test_services import data
from tests.notify.servers import SmsGatewayServer, gateway_signature

pytestmark = pytest.mark.django_db

RECEIPTS = "http://testserver/api/v1/notify/callbacks/sms-gateway/receipts/"


@pytest.fixture
def gateway(settings):
    with SmsGatewayServer() as server:
        settings.SMS_PROVIDER = "gateway"
        settings.SMS_GATEWAY_URL = server.url
        settings.SMS_GATEWAY_KEY_ID, settings.SMS_GATEWAY_SECRET = server.key_id, server.secret
        settings.SMS_GATEWAY_TIMEOUT_SECONDS = 2
        yield server


@pytest.fixture
def app():
    # As Django's own test client does: the handler must not close the test's connection at the
    # end of a request (it runs inside the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        transport = httpx.WSGITransport(app=get_wsgi_application())
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def sent_sms(gba, principal_for, make_officer, gateway):
    """An SMS the gateway really accepted, recorded as the pipeline records it (sent, with the gateway's id)."""
    incident = incident_services.incident_report(
        actor=principal_for(SHENZHEN), data=data(affected_area=SHENZHEN_DONGGUAN_AREA)
    ).incident
    officer = make_officer("duty-dongguan", DONGGUAN)
    key = f"test-{uuid.uuid4()}"
    handed = SmsGatewayProvider().send(Message(idempotency_key=key, address="+8613800138000", subject="",
                                               text="请确认 482913"))
    now = timezone.now()
    return Notification.objects.create(
        incident=incident, reason="ack.requested", recipient=officer, jurisdiction_id=DONGGUAN, channel="sms",
        address="+8613800138000", not_before=now, state="sent", sent_at=now, provider_id=handed.provider_id,
        idempotency_key=key, attempts=1,
    )


def test_a_delivery_receipt_moves_the_sms_to_delivered(gateway, app, sent_sms):
    assert len(gateway.accepted) == 1
    answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, client=app)
    assert answer.status_code == 204, answer.text
    sent_sms.refresh_from_db()
    assert sent_sms.state == "delivered" and sent_sms.delivered_at is not None
    # The same receipt again (a gateway retrying its callback) changes nothing.
    delivered_at = sent_sms.delivered_at
    assert gateway.post_receipt(RECEIPTS, sent_sms.provider_id, client=app).status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.state == "delivered" and sent_sms.delivered_at == delivered_at


def test_a_failure_receipt_moves_it_to_failed_with_the_gateways_reason(gateway, app, sent_sms):
    answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, status="failed", client=app)
    assert answer.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.state == "failed" and sent_sms.failed_at is not None
    assert sent_sms.error_code == "gateway:unreachable"


@pytest.mark.parametrize("forgery", ["wrong_secret", "wrong_key", "stale", "future", "tampered"])
def test_a_forged_or_stale_receipt_is_refused_and_changes_nothing(gateway, app, sent_sms, forgery):
    if forgery == "wrong_secret":
        answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, secret="guessed", client=app)
    elif forgery == "wrong_key":
        answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, key_id="someone-else", client=app)
    elif forgery == "stale":
        answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, timestamp=int(time.time()) - 301, client=app)
    elif forgery == "future":
        answer = gateway.post_receipt(RECEIPTS, sent_sms.provider_id, timestamp=int(time.time()) + 301, client=app)
    else:
        # A genuine signature over another body: the failed receipt's headers on a delivered one.
        stamp = str(int(time.time()))
        signed = b'{"id":"%s","status":"failed"}' % sent_sms.provider_id.encode()
        tampered = b'{"id":"%s","status":"delivered"}' % sent_sms.provider_id.encode()
        answer = app.post(RECEIPTS, content=tampered, headers={
            "Content-Type": "application/json", "X-Liandong-Key": gateway.key_id, "X-Liandong-Timestamp": stamp,
            "X-Liandong-Signature": gateway_signature(gateway.secret, stamp, signed),
        })
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    sent_sms.refresh_from_db()
    assert sent_sms.state == "sent" and sent_sms.delivered_at is None and sent_sms.failed_at is None


def test_an_unsigned_receipt_is_refused(app, gateway, sent_sms):
    answer = app.post(RECEIPTS, json={"id": sent_sms.provider_id, "status": "delivered"})
    assert answer.status_code == 401
    sent_sms.refresh_from_db()
    assert sent_sms.state == "sent"


def test_a_receipt_for_no_sms_is_404_and_a_bad_status_400(gateway, app, sent_sms):
    assert gateway.post_receipt(RECEIPTS, "gw-unknown", client=app).status_code == 404
    assert gateway.post_receipt(RECEIPTS, sent_sms.provider_id, status="read", client=app).status_code == 400
    sent_sms.refresh_from_db()
    assert sent_sms.state == "sent"


def test_receipts_are_refused_when_no_gateway_is_configured(settings, gateway, app, sent_sms):
    settings.SMS_GATEWAY_SECRET = ""
    assert gateway.post_receipt(RECEIPTS, sent_sms.provider_id, client=app).status_code == 401


# --- SMS replies -----------------------------------------------------------------------------------

REPLIES = "http://testserver/api/v1/notify/callbacks/sms-gateway/replies/"


@pytest.fixture
def sms_to_primary(gateway, smtp, on_duty_in_dongguan, flood):
    """The flood's request to Dongguan; the primary's SMS really sent through the gateway (after her
    plan's 5 minutes), as the pipeline sends it."""
    from coordination.notify import sending

    primary, _ = on_duty_in_dongguan
    public_id = flood()
    row = Notification.objects.get(recipient=primary, channel="sms")
    assert sending.send_due(ids=[row.pk], now=row.not_before)["sent"] == 1
    row.refresh_from_db()
    assert row.state == "sent" and [m["to"] for m in gateway.accepted] == ["+8613800138000"]
    return public_id, row


def ack_of(row):
    from coordination.workflows.models import Acknowledgement

    return Acknowledgement.objects.get(pk=row.acknowledgement_id)


def test_an_sms_reply_with_the_code_acknowledges_as_the_person(gateway, app, sms_to_primary):
    _, row = sms_to_primary
    code = reply_code_for(row.pk)
    answer = gateway.post_reply(REPLIES, "+86 138 0013 8000", f"ACK {code}", client=app)
    assert answer.status_code == 200 and answer.json() == {"outcome": "acknowledged"}
    ack = ack_of(row)
    assert ack.status == "acknowledged" and ack.acknowledged_by == row.recipient.username
    row.refresh_from_db()
    assert row.state == "acknowledged"
    # The same reply again (the person sends it twice, or the gateway retries) changes nothing.
    again = gateway.post_reply(REPLIES, "+8613800138000", f"确认{code}", client=app)
    assert again.json() == {"outcome": "already"}


def test_an_sms_reply_needs_both_the_code_and_the_number(gateway, app, sms_to_primary):
    _, row = sms_to_primary
    code = reply_code_for(row.pk)
    wrong_code = f"{(int(code) + 1) % 10**6:06d}"
    assert gateway.post_reply(REPLIES, "+8613900139000", f"ACK {code}", client=app).json() == {"outcome": "no_match"}
    assert gateway.post_reply(REPLIES, "+8613800138000", f"ACK {wrong_code}", client=app).json() == {
        "outcome": "no_match"}
    assert gateway.post_reply(REPLIES, "+8613800138000", "OK", client=app).json() == {"outcome": "no_match"}
    assert ack_of(row).status == "pending"


def test_a_forged_sms_reply_is_refused(gateway, app, sms_to_primary):
    _, row = sms_to_primary
    answer = gateway.post_reply(REPLIES, "+8613800138000", f"ACK {reply_code_for(row.pk)}", secret="guessed",
                                client=app)
    assert answer.status_code == 401
    assert ack_of(row).status == "pending"


# --- Tencent Cloud SMS receipts ------------------------------------------------------------------------


@pytest.fixture
def tencent_sms(settings, gba, principal_for, make_officer):
    """An SMS Tencent's stand-in accepted through the SDK, recorded as sent with its SerialNo."""
    from coordination.notify.providers.tencent_sms import TencentSmsProvider
    from tests.notify.servers import TencentSmsServer

    with TencentSmsServer() as server:
        settings.SMS_PROVIDER = "tencent"
        settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY = server.secret_id, server.secret_key
        settings.TENCENT_SMS_SDK_APP_ID, settings.TENCENT_SMS_TEMPLATE_ID = server.app_id, "1110"
        settings.TENCENT_SMS_ENDPOINT, settings.TENCENT_SMS_PROTOCOL = server.endpoint, "http"
        settings.TENCENT_SMS_CALLBACK_TOKEN = "tencent-callback-token-0123456789"
        incident = incident_services.incident_report(
            actor=principal_for(SHENZHEN), data=data(affected_area=SHENZHEN_DONGGUAN_AREA)).incident
        key = f"test-{uuid.uuid4()}"
        handed = TencentSmsProvider().send(Message(idempotency_key=key, address="+8613800138000", subject="",
                                                   text="482913"))
        now = timezone.now()
        row = Notification.objects.create(
            incident=incident, reason="ack.requested", recipient=make_officer("duty-dg-2", DONGGUAN),
            jurisdiction_id=DONGGUAN, channel="sms", address="+8613800138000", not_before=now, state="sent",
            sent_at=now, provider_id=handed.provider_id, idempotency_key=key, attempts=1)
        yield server, row


def test_tencent_receipts_move_the_sms_by_its_serial_number(app, tencent_sms):
    server, row = tencent_sms
    url = "http://testserver/api/v1/notify/callbacks/tencent-sms/tencent-callback-token-0123456789/receipts/"
    answer = server.post_receipts(url, [row.provider_id, "2019:unknown"], client=app)
    assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
    row.refresh_from_db()
    assert row.state == "delivered"


def test_tencent_receipts_with_a_wrong_token_change_nothing(app, tencent_sms, settings):
    server, row = tencent_sms
    wrong = "http://testserver/api/v1/notify/callbacks/tencent-sms/guessed/receipts/"
    assert server.post_receipts(wrong, [row.provider_id], status="FAIL", client=app).status_code == 401
    # No token configured: the endpoint is off, whatever token the caller tries.
    settings.TENCENT_SMS_CALLBACK_TOKEN = ""
    url = "http://testserver/api/v1/notify/callbacks/tencent-sms/tencent-callback-token-0123456789/receipts/"
    answer = server.post_receipts(url, [row.provider_id], client=app)
    assert answer.status_code == 404 and "not enabled" in answer.json()["detail"]
    row.refresh_from_db()
    assert row.state == "sent"


def test_a_failure_receipt_sends_the_persons_next_channel_at_once(gateway, app, smtp, officer_with, flood):
    """End to end: the SMS goes through the gateway, the gateway reports it undelivered, and the
    e-mail the person's plan had five minutes later goes now (counted at the SMTP server)."""
    from coordination.duty.services import roster_ensure, shift_create
    from coordination.models import Jurisdiction
    from coordination.notify import sending

    primary = officer_with("dg-sms-first", contacts=[("sms", "+8613800138000", 5), ("email", "first@dg.example", 5)])
    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=DONGGUAN))
    now = timezone.now()
    shift_create(actor=None, roster=roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=11),
                 primary=primary.username, backups=[])
    flood()
    sms = Notification.objects.get(recipient=primary, channel="sms")
    email_row = Notification.objects.get(recipient=primary, channel="email")
    assert email_row.not_before - sms.not_before == timedelta(minutes=5)
    assert sending.send_due(ids=[sms.pk], now=sms.not_before)["sent"] == 1
    sms.refresh_from_db()
    assert [m["id"] for m in gateway.accepted] == [sms.provider_id]

    assert gateway.post_receipt(RECEIPTS, sms.provider_id, status="failed", client=app).status_code == 204
    sms.refresh_from_db()
    email_row.refresh_from_db()
    assert sms.state == "failed" and email_row.not_before <= timezone.now()
    assert sending.send_due(ids=[email_row.pk])["sent"] == 1
    assert len(smtp.to("first@dg.example")) == 1 and len(gateway.accepted) == 1
