"""Each provider adapter against a real local server that checks requests as the provider documents them.

For each: a message is accepted and counted at the receiving side; the server itself refuses a bad
signature; a 500 (or the provider's busy code) is transient, a 4xx (or its refusal code) permanent,
a timeout transient; the idempotency key is carried where the provider takes one.
"""

import email
import email.policy
import json
import smtplib
import socket
import threading
import time
from urllib.parse import quote_plus

import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

from coordination.notify.providers import email as email_provider
from coordination.notify.providers import http as http_helpers
from coordination.notify.providers.base import Message, ProviderError
from coordination.notify.providers.registry import provider_for
from coordination.notify.providers.robots import (
    DingTalkRobotProvider,
    FeishuRobotProvider,
    WeComRobotProvider,
    dingtalk_sign,
)
from coordination.notify.providers.sms_gateway import SmsGatewayProvider, signed_headers
from coordination.notify.providers.tencent_sms import TencentSmsProvider
from coordination.notify.providers.webpush import WebPushProvider, topic_for
from tests.notify.servers import PushServer, RobotServer, SmsGatewayServer, TencentSmsServer, b64url


def message(address: str, key: str = "n1-r1-sms", **extra) -> Message:
    return Message(
        idempotency_key=key, address=address, subject="深圳 → 东莞：一级响应",
        text="请确认收到：东莞塘厦洪水，确认码 482913", link="https://liandong.example/ack/abc", **extra,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_connections():
    yield
    email_provider.close_connection()
    http_helpers.close_client()


# --- E-mail through a real SMTP server ---------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.sessions: set[int] = set()
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sessions.add(id(session))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp(settings):
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2
    settings.DEFAULT_FROM_EMAIL = "liandong@gba.example"
    yield box
    email_provider.close_connection()
    controller.stop()


def test_email_is_received_with_the_message_id_of_its_idempotency_key(smtp):
    provider = provider_for("email")
    handed = provider.send(message("duty@dongguan.example", key="n7-r3-email"))
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received["Message-ID"] == "<liandong.n7-r3-email@gba.example>" == handed.provider_id
    assert received["To"] == "duty@dongguan.example"
    assert received["Subject"] == "深圳 → 东莞：一级响应"
    plain = received.get_content()
    assert "确认码 482913" in plain and plain.count("https://liandong.example/ack/abc") == 1
    assert received["Auto-Submitted"] == "auto-generated"


def test_email_keeps_one_connection_for_many_messages(smtp):
    provider = provider_for("email")
    for n in range(5):
        provider.send(message(f"p{n}@dongguan.example", key=f"n1-r{n}-email"))
    assert len(smtp.messages) == 5
    assert len(smtp.sessions) == 1


def test_email_refused_recipient_is_permanent_and_busy_is_transient(smtp):
    smtp.refuse["gone@dongguan.example"] = "550 5.1.1 No such user"
    smtp.refuse["full@dongguan.example"] = "452 4.2.2 Mailbox full"
    with pytest.raises(ProviderError) as refused:
        provider_for("email").send(message("gone@dongguan.example"))
    assert refused.value.transient is False
    with pytest.raises(ProviderError) as busy:
        provider_for("email").send(message("full@dongguan.example"))
    assert busy.value.transient is True
    assert smtp.messages == []


def test_email_server_down_is_transient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    with pytest.raises(ProviderError) as error:
        provider_for("email").send(message("duty@dongguan.example"))
    assert error.value.transient is True and error.value.code == "connection"


def test_email_reconnects_once_when_the_server_dropped_the_idle_connection(smtp):
    provider = provider_for("email")
    provider.send(message("a@dongguan.example", key="k1"))
    held = email_provider._local.held[1]
    held.connection.sock.close()  # the server went away while we were idle
    provider.send(message("b@dongguan.example", key="k2"))
    assert [m["To"] for m in smtp.messages] == ["a@dongguan.example", "b@dongguan.example"]


def test_email_smtp_errors_map_by_their_class():
    assert email_provider._error(smtplib.SMTPDataError(554, b"rejected")).transient is False
    assert email_provider._error(smtplib.SMTPDataError(451, b"later")).transient is True
    assert email_provider._error(smtplib.SMTPAuthenticationError(535, b"auth")).transient is False
    assert email_provider._error(TimeoutError()).transient is True


# --- Our SMS gateway ----------------------------------------------------------------------------


@pytest.fixture
def gateway(settings):
    with SmsGatewayServer() as server:
        settings.SMS_PROVIDER = "gateway"
        settings.SMS_GATEWAY_URL = server.url
        settings.SMS_GATEWAY_KEY_ID, settings.SMS_GATEWAY_SECRET = server.key_id, server.secret
        settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
        yield server


def test_the_http_clients_of_all_sending_threads_share_one_tls_context():
    """Built once per process even when every sending thread asks for it at the same moment
    (the first batch after a start): each build loads the trusted certificates."""
    http_helpers._tls_context.cache_clear()
    start = threading.Barrier(8)
    contexts = []

    def first_send():
        start.wait()
        contexts.append(http_helpers._tls())

    threads = [threading.Thread(target=first_send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(contexts) == 8 and len({id(context) for context in contexts}) == 1
    assert http_helpers._tls_context.cache_info().misses == 1


def test_a_worker_process_prepares_the_tls_context_as_it_starts():
    """Connected by the notify app (coordination/notify/apps.py): Celery sends the signal in
    each pool process it starts."""
    import gc

    from celery.signals import worker_process_init

    http_helpers._tls_context.cache_clear()
    frozen_before = gc.get_freeze_count()
    try:
        worker_process_init.send(sender="test")  # what each pool process sends once it has started
        assert http_helpers._tls_context.cache_info().currsize == 1
    finally:
        # The signal also freezes the startup objects (config/celery.py): this process is not a worker.
        gc.unfreeze()
        if frozen_before:
            gc.freeze()


def test_gateway_accepts_a_signed_message_and_carries_the_idempotency_key(gateway):
    handed = provider_for("sms").send(message("+8613800138000", key="n9-r2-sms"))
    assert gateway.accepted == [{
        "id": handed.provider_id, "to": "+8613800138000",
        "text": "请确认收到：东莞塘厦洪水，确认码 482913", "reference": "n9-r2-sms",
    }]
    assert gateway.requests[0].header("Idempotency-Key") == "n9-r2-sms"
    # A retry of the same notification is the same message at the gateway, not a second one.
    again = provider_for("sms").send(message("+8613800138000", key="n9-r2-sms"))
    assert again.provider_id == handed.provider_id and len(gateway.accepted) == 1


def test_gateway_server_refuses_a_wrong_signature_and_a_stale_one(gateway, settings):
    settings.SMS_GATEWAY_SECRET = "not-the-gateway-secret"
    with pytest.raises(ProviderError) as error:
        SmsGatewayProvider().send(message("+8613800138000"))
    assert error.value.code == "http_401" and error.value.transient is False
    body = b'{"to":"+8613800138000","text":"x","reference":"k"}'
    stale = signed_headers(key_id=gateway.key_id, secret=gateway.secret, body=body, now=time.time() - 600)
    answer = httpx.post(gateway.url, content=body, headers={**stale, "Idempotency-Key": "k"})
    assert answer.status_code == 401
    assert [reason for reason, _ in gateway.refused] == ["bad_signature", "stale"]
    assert gateway.accepted == []


def test_gateway_500_is_transient_400_permanent_timeout_transient(gateway):
    gateway.fail_next(1, 500)
    with pytest.raises(ProviderError) as five_hundred:
        SmsGatewayProvider().send(message("+8613800138000"))
    assert five_hundred.value.transient is True and five_hundred.value.code == "http_500"
    with pytest.raises(ProviderError) as bad_number:
        SmsGatewayProvider().send(message("12345"))
    assert bad_number.value.transient is False and bad_number.value.code == "http_400"
    gateway.fail_next(1, 429)
    with pytest.raises(ProviderError) as limited:
        SmsGatewayProvider().send(message("+8613800138000"))
    assert limited.value.transient is True
    gateway.hang_next(1, seconds=3)
    started = time.monotonic()
    with pytest.raises(ProviderError) as timeout:
        SmsGatewayProvider().send(message("+8613800138000"))
    assert timeout.value.code == "timeout" and timeout.value.transient is True
    assert time.monotonic() - started < 2
    assert gateway.accepted == []
    SmsGatewayProvider().send(message("+8613800138000"))  # and the gateway is reachable again
    assert len(gateway.accepted) == 1


def test_no_sms_provider_is_a_permanent_not_configured(settings):
    settings.SMS_PROVIDER = ""
    with pytest.raises(ProviderError) as error:
        provider_for("sms").send(message("+8613800138000"))
    assert error.value.code == "not_configured" and error.value.transient is False


# --- Tencent Cloud SMS through its SDK -----------------------------------------------------------


@pytest.fixture
def tencent(settings):
    with TencentSmsServer() as server:
        settings.SMS_PROVIDER = "tencent"
        settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY = server.secret_id, server.secret_key
        settings.TENCENT_SMS_SDK_APP_ID = server.app_id
        settings.TENCENT_SMS_SIGN_NAME, settings.TENCENT_SMS_TEMPLATE_ID = "联动", "1110"
        settings.TENCENT_SMS_ENDPOINT, settings.TENCENT_SMS_PROTOCOL = server.endpoint, "http"
        settings.TENCENT_SMS_TIMEOUT_SECONDS = 1
        yield server


def test_tencent_sends_through_the_sdk_with_a_valid_tc3_signature(tencent):
    handed = provider_for("sms").send(message("+8613800138000", key="n3-r1-sms", extra={"template_params": ["482913"]}))
    assert tencent.refused == []
    assert tencent.accepted == [{
        "serial": handed.provider_id, "to": "+8613800138000", "template": "1110", "params": ["482913"],
        "sign": "联动", "session": "n3-r1-sms",
    }]


def test_tencent_server_refuses_a_wrong_secret_key(tencent, settings):
    settings.TENCENT_SMS_SECRET_KEY = "wrong"
    with pytest.raises(ProviderError) as error:
        TencentSmsProvider().send(message("+8613800138000"))
    assert error.value.code == "tencent:AuthFailure.SignatureFailure" and error.value.transient is False
    assert [reason for reason, _ in tencent.refused] == ["signature"] and tencent.accepted == []


def test_tencent_codes_limits_transient_invalid_permanent(tencent):
    tencent.next_codes = ["LimitExceeded.PhoneNumberThirtySecondLimit", "InvalidParameterValue.IncorrectPhoneNumber"]
    with pytest.raises(ProviderError) as limited:
        TencentSmsProvider().send(message("+8613800138000"))
    assert limited.value.transient is True
    with pytest.raises(ProviderError) as invalid:
        TencentSmsProvider().send(message("+8613800138000"))
    assert invalid.value.transient is False
    assert invalid.value.code == "tencent:InvalidParameterValue.IncorrectPhoneNumber"


def test_tencent_500_and_timeout_are_transient(tencent):
    tencent.fail_next(1, 500)
    with pytest.raises(ProviderError) as error:
        TencentSmsProvider().send(message("+8613800138000"))
    assert error.value.transient is True
    tencent.hang_next(1, seconds=4)
    started = time.monotonic()
    with pytest.raises(ProviderError) as timeout:
        TencentSmsProvider().send(message("+8613800138000"))
    assert timeout.value.transient is True and time.monotonic() - started < 3
    assert tencent.accepted == []


# --- Group robots --------------------------------------------------------------------------------


@pytest.fixture
def robots(settings):
    with RobotServer() as server:
        settings.WECOM_ROBOT_URL_PREFIXES = [f"{server.origin}/cgi-bin/webhook/send?"]
        settings.DINGTALK_ROBOT_URL_PREFIXES = [f"{server.origin}/robot/send?"]
        settings.FEISHU_ROBOT_URL_PREFIXES = [f"{server.origin}/open-apis/bot/v2/hook/"]
        settings.ROBOT_TIMEOUT_SECONDS = 0.5
        yield server


def test_wecom_robot(robots):
    url = robots.wecom_url("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    provider_for("wecom").send(message(url))
    assert robots.accepted[0]["msgtype"] == "markdown" and "确认码 482913" in robots.accepted[0]["content"]
    with pytest.raises(ProviderError) as wrong_key:
        WeComRobotProvider().send(message(f"{robots.origin}/cgi-bin/webhook/send?key=nope"))
    assert wrong_key.value.code == "wecom_93000" and wrong_key.value.transient is False
    robots.next_codes = [45009]
    with pytest.raises(ProviderError) as limited:
        WeComRobotProvider().send(message(url))
    assert limited.value.transient is True
    assert len(robots.accepted) == 1


def test_dingtalk_robot_signs_as_documented(robots):
    url = robots.dingtalk_url("tok", "SECabc123")
    provider_for("dingtalk").send(message(url, secret="SECabc123"))
    assert robots.accepted[0]["service"] == "dingtalk"
    query = robots.requests[0].query
    assert query["sign"][0] == dingtalk_sign("SECabc123", query["timestamp"][0])
    with pytest.raises(ProviderError) as wrong:
        DingTalkRobotProvider().send(message(url, secret="SECwrong"))
    assert wrong.value.code == "dingtalk_310000" and wrong.value.transient is False
    assert [reason for reason, _ in robots.refused] == ["sign"]
    robots.next_codes = [130101]
    with pytest.raises(ProviderError) as limited:
        DingTalkRobotProvider().send(message(url, secret="SECabc123"))
    assert limited.value.transient is True


def test_dingtalk_server_refuses_an_old_timestamp(robots):
    url = robots.dingtalk_url("tok", "SECabc123")
    old = int((time.time() - 2 * 3600) * 1000)
    answer = httpx.post(f"{url}&timestamp={old}&sign={quote_plus(dingtalk_sign('SECabc123', old))}",
                        json={"msgtype": "text", "text": {"content": "x"}})
    assert answer.json()["errcode"] == 310000 and robots.accepted == []


def test_feishu_robot_signs_as_documented(robots):
    url = robots.feishu_url("hook-1", "feishu-secret")
    provider_for("feishu").send(message(url, secret="feishu-secret"))
    assert robots.accepted[0]["service"] == "feishu" and "482913" in robots.accepted[0]["content"]
    with pytest.raises(ProviderError) as wrong:
        FeishuRobotProvider().send(message(url, secret="other"))
    assert wrong.value.code == "feishu_19021" and wrong.value.transient is False
    robots.next_codes = [11232]
    with pytest.raises(ProviderError) as limited:
        FeishuRobotProvider().send(message(url, secret="feishu-secret"))
    assert limited.value.transient is True


def test_robots_500_transient_timeout_transient_foreign_url_refused(robots):
    url = robots.wecom_url("k")
    robots.fail_next(1, 502)
    with pytest.raises(ProviderError) as error:
        WeComRobotProvider().send(message(url))
    assert error.value.transient is True
    robots.hang_next(1, seconds=3)
    with pytest.raises(ProviderError) as timeout:
        WeComRobotProvider().send(message(url))
    assert timeout.value.code == "timeout" and timeout.value.transient is True
    requests_before = len(robots.requests)
    with pytest.raises(ProviderError) as foreign:
        WeComRobotProvider().send(message("http://169.254.169.254/latest/meta-data?key=k"))
    assert foreign.value.code == "url_not_allowed" and len(robots.requests) == requests_before


# --- Web push ------------------------------------------------------------------------------------


@pytest.fixture
def vapid_key():
    vapid = Vapid()
    vapid.generate_keys()
    return vapid


@pytest.fixture
def push(settings, vapid_key):
    public = b64url(vapid_key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    ))
    with PushServer(application_server_key=public) as server:
        settings.WEBPUSH_VAPID_PRIVATE_KEY = vapid_key.private_pem().decode()
        settings.WEBPUSH_VAPID_SUBJECT = "mailto:ops@gba.example"
        settings.WEBPUSH_TTL_SECONDS = 600
        settings.WEBPUSH_TIMEOUT_SECONDS = 0.5
        yield server


def test_webpush_is_decrypted_by_the_browser(push):
    browser = push.subscribe()
    handed = provider_for("webpush").send(message(json.dumps(browser.subscription()), key="n5-r1-webpush"))
    [received] = push.accepted
    assert received["payload"] == {
        "title": "深圳 → 东莞：一级响应", "body": "请确认收到：东莞塘厦洪水，确认码 482913",
        "url": "https://liandong.example/ack/abc",
    }
    assert received["urgency"] == "high" and received["ttl"] == 600
    assert received["topic"] == topic_for("n5-r1-webpush")
    assert handed.provider_id.endswith(f"/message/{received['id']}")


def test_webpush_server_refuses_another_vapid_key(push, settings):
    other = Vapid()
    other.generate_keys()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = other.private_pem().decode()
    browser = push.subscribe()
    with pytest.raises(ProviderError) as error:
        WebPushProvider().send(message(json.dumps(browser.subscription())))
    assert error.value.code == "http_403" and error.value.transient is False
    assert [reason for reason, _ in push.refused] == ["vapid_key"] and push.accepted == []


def test_webpush_gone_is_permanent_500_and_timeout_transient(push):
    browser = push.subscribe()
    address = json.dumps(browser.subscription())
    push.gone.add(browser.id)
    with pytest.raises(ProviderError) as gone:
        WebPushProvider().send(message(address))
    assert gone.value.code == "subscription_gone" and gone.value.transient is False
    push.gone.clear()
    push.fail_next(1, 503)
    with pytest.raises(ProviderError) as busy:
        WebPushProvider().send(message(address))
    assert busy.value.transient is True
    push.hang_next(1, seconds=3)
    with pytest.raises(ProviderError) as timeout:
        WebPushProvider().send(message(address))
    assert timeout.value.transient is True and timeout.value.code == "timeout"
    WebPushProvider().send(message(address))
    assert len(push.accepted) == 1


def test_webpush_key_as_raw_base64url(push, vapid_key, settings):
    raw = vapid_key.private_key.private_numbers().private_value.to_bytes(32, "big")
    settings.WEBPUSH_VAPID_PRIVATE_KEY = b64url(raw)
    browser = push.subscribe()
    WebPushProvider().send(message(json.dumps(browser.subscription())))
    assert len(push.accepted) == 1


def test_local_servers_answer_concurrently():
    # The servers are threaded: a hung request does not hold up the next one.
    with SmsGatewayServer() as server:
        server.hang_next(1, seconds=2)

        def hang():
            with pytest.raises(httpx.HTTPError):
                httpx.post(server.url, content=b"{}", timeout=3)

        hung = threading.Thread(target=hang)
        hung.start()
        time.sleep(0.1)
        assert httpx.post(server.url, content=b"{}", timeout=1).status_code == 401
        hung.join()


def test_every_channel_has_a_provider(settings):
    from coordination.people.models import Channel

    settings.SMS_PROVIDER = "gateway"
    for channel in Channel.values:
        provider = provider_for(channel)
        assert provider.channel == channel and callable(provider.send)
    settings.SMS_PROVIDER = "tencent"
    assert isinstance(provider_for("sms"), TencentSmsProvider)
    with pytest.raises(ProviderError) as unknown:
        provider_for("pager").send(message("x"))
    assert unknown.value.code == "not_configured" and unknown.value.transient is False


@pytest.mark.parametrize(("code", "kind"), [
    ("timeout", "timeout"), ("connection", "unreachable"), ("smtp_disconnected", "unreachable"),
    ("http_500", "provider_error"), ("http_503", "provider_error"), ("smtp_451", "provider_error"),
    ("http_429", "rate_limited"), ("tencent:LimitExceeded.PhoneNumberThirtySecondLimit", "rate_limited"),
    ("wecom_45009", "rate_limited"), ("dingtalk_130101", "rate_limited"), ("feishu_11232", "rate_limited"),
    ("http_400", "refused"), ("smtp_550", "address_refused"), ("smtp_recipient_refused", "address_refused"),
    ("subscription_gone", "address_refused"), ("tencent:InvalidParameterValue.IncorrectPhoneNumber", "address_refused"),
    ("dingtalk_310000", "address_refused"), ("feishu_19021", "address_refused"), ("url_not_allowed", "address_refused"),
    ("not_configured", "not_configured"), ("smtp_auth", "not_configured"),
    ("tencent:AuthFailure.SignatureFailure", "not_configured"),
    ("gateway:unreachable", "undelivered"), ("tencent-receipt:MK:0001", "undelivered"),
    ("outcome_unknown", "unknown_outcome"), ("internal:KeyError", "provider_error"), ("something_new", "refused"),
])
def test_every_error_code_has_a_kind_a_person_can_read(code, kind):
    from coordination.notify.providers.errors import error_kind

    assert error_kind(code) == kind


def test_error_labels_are_translated():
    from django.utils import translation

    from coordination.notify.providers.errors import error_label

    with translation.override("zh-hans"):
        assert str(error_label("timeout")) == "服务商未能及时响应"
    with translation.override("zh-hant"):
        assert str(error_label("subscription_gone")) == "地址被拒絕"
    with translation.override("en"):
        assert str(error_label("http_429")) == "The provider is limiting how fast messages are sent"
