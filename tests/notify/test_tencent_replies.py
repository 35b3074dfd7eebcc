"""Tencent SMS replies (issue 20): an officer who replies to an SMS sent through Tencent Cloud with
the code it names acknowledges, as the gateway's reply does. The SMS goes through the Tencent
stand-in (TC3 signature checked, tests/notify/servers.py); the reply comes back as Tencent's
短信回复 callback (a JSON object: extend, mobile, nationcode, sign, text, time), posted over HTTP to
the Django application with the URL's token, the way Tencent authenticates its receipts."""

import json
import re
import time

import pytest

from coordination.notify import sending
from coordination.notify.models import Notification
from coordination.notify.providers.replies import reply_code_for
from coordination.workflows.models import Acknowledgement
from tests.notify.servers import TencentSmsServer
from tests.notify.test_callbacks import app  # noqa: F401 - the fixture: requests through the WSGI app

pytestmark = pytest.mark.django_db

TOKEN = "tencent-callback-token-0123456789"
REPLIES = f"http://testserver/api/v1/notify/callbacks/tencent-sms/{TOKEN}/replies/"


@pytest.fixture
def tencent(settings):
    with TencentSmsServer() as server:
        settings.SMS_PROVIDER = "tencent"
        settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY = server.secret_id, server.secret_key
        settings.TENCENT_SMS_SDK_APP_ID, settings.TENCENT_SMS_TEMPLATE_ID = server.app_id, "1110"
        settings.TENCENT_SMS_ENDPOINT, settings.TENCENT_SMS_PROTOCOL = server.endpoint, "http"
        settings.TENCENT_SMS_CALLBACK_TOKEN = TOKEN
        yield server


@pytest.fixture
def sms_through_tencent(tencent, officer_with, flood):
    """The flood's request to Dongguan; its duty officer's SMS (her only contact) sent through Tencent."""
    officer = officer_with("dg-sms", role="operator", contacts=[("sms", "+8613800138000", 5)])
    flood()
    row = Notification.objects.get(recipient=officer, channel="sms")
    assert sending.send_due(ids=[row.pk], now=row.not_before)["sent"] == 1
    row.refresh_from_db()
    [sent] = tencent.accepted
    assert row.provider_id == sent["serial"]
    return row, sent


def reply(client, text, *, mobile="13800138000", nationcode="86", url=REPLIES):
    body = {"extend": "", "mobile": mobile, "nationcode": nationcode, "sign": "联动", "text": text,
            "time": int(time.time())}
    return client.post(url, content=json.dumps(body, ensure_ascii=False).encode(),
                       headers={"Content-Type": "application/json"}, timeout=10)


def test_a_reply_with_the_code_acknowledges_as_the_person(app, sms_through_tencent):  # noqa: F811
    row, sent = sms_through_tencent
    code = reply_code_for(row.pk)
    assert re.search(rf"\b{code}\b", " ".join(sent["params"]))  # the SMS names its code
    answer = reply(app, f"确认 {code}")
    assert answer.status_code == 200
    assert answer.json() == {"result": 0, "errmsg": "OK", "outcome": "acknowledged"}
    ack = Acknowledgement.objects.get(pk=row.acknowledgement_id)
    assert ack.status == "acknowledged" and ack.acknowledged_by == row.recipient.username
    row.refresh_from_db()
    assert row.state == "acknowledged"
    assert reply(app, code).json()["outcome"] == "already"  # Tencent retries, or she replies twice


def test_the_code_from_another_number_or_a_wrong_token_changes_nothing(app, sms_through_tencent,  # noqa: F811
                                                                        settings):
    row, _ = sms_through_tencent
    code = reply_code_for(row.pk)
    assert reply(app, code, mobile="13900139000").json()["outcome"] == "no_match"
    assert reply(app, code, nationcode="852").json()["outcome"] == "no_match"
    assert reply(app, code, mobile=None).status_code == 400  # not Tencent's shape
    forged = REPLIES.replace(TOKEN, "guessed")
    assert reply(app, code, url=forged).status_code == 401
    settings.TENCENT_SMS_CALLBACK_TOKEN = ""  # callbacks off: the endpoint is not there
    assert reply(app, code).status_code == 404
    assert Acknowledgement.objects.get(pk=row.acknowledgement_id).status == "pending"
