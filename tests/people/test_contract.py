"""What an address may be (coordination.people.contract): e-mail, numbers (E.164, +852/+853),
robot webhooks per provider, web push subscriptions; loopback only under the setting; and which
notifications are urgent."""

import json

import pytest

from config.errors import ValidationFailed
from coordination.people import contract
from coordination.people.models import Channel
from tests.conftest import HONG_KONG, MACAO, SHENZHEN
from tests.people.conftest import SUBSCRIPTION, b64url


def refused(channel, address, *, field="address", **kwargs) -> str:
    with pytest.raises(ValidationFailed) as caught:
        contract.check_address(channel, address, **kwargs)
    assert list(caught.value.errors) == [field]
    return caught.value.errors[field][0]


@pytest.mark.parametrize("raw, jurisdiction, stored", [
    ("13800138000", SHENZHEN, "+8613800138000"),
    ("138 0013 8000", None, "+8613800138000"),
    ("+86 138-0013-8000", HONG_KONG, "+8613800138000"),
    ("+852 5123 4567", SHENZHEN, "+85251234567"),
    ("5123 4567", HONG_KONG, "+85251234567"),  # a Hong Kong officer's local number
    ("+853 6612 3456", None, "+85366123456"),
    ("6612 3456", MACAO, "+85366123456"),  # a Macao officer's local number
])
def test_numbers_are_stored_as_e164(raw, jurisdiction, stored):
    assert contract.check_address(Channel.SMS, raw, jurisdiction=jurisdiction) == stored


@pytest.mark.parametrize("raw, jurisdiction", [
    ("5123 4567", SHENZHEN),  # a Hong Kong number without +852 is not a mainland number
    ("12345", None),
    ("+86 138 0013 800", None),  # one digit short
    ("call me", None),
    ("", None),
    (13800138000, None),  # not text
])
def test_invalid_numbers_are_refused_naming_the_field(raw, jurisdiction):
    assert "+852" in refused(Channel.SMS, raw, jurisdiction=jurisdiction)  # says how to write an SAR number


def test_a_fixed_line_cannot_take_text_messages():
    message = refused(Channel.SMS, "+86 10 6552 9988")  # a Beijing landline
    assert "mobile" in message


def test_email_addresses():
    assert contract.check_address(Channel.EMAIL, "  duty@sz.example ") == "duty@sz.example"
    assert "e-mail" in refused(Channel.EMAIL, "not-an-address")
    refused(Channel.EMAIL, "a@b@c.example")
    refused(Channel.EMAIL, "x" * 250 + "@sz.example")


@pytest.mark.parametrize("channel, url", [
    (Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"),
    (Channel.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=abc123"),
    (Channel.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/2f9e7c3e-1a2b-4c5d-8e9f-000000000000"),
])
def test_robot_webhooks_of_each_provider(channel, url):
    assert contract.check_address(channel, f" {url} ") == url


@pytest.mark.parametrize("channel, url", [
    (Channel.WECOM, "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),  # not https
    (Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),  # no key
    (Channel.WECOM, "https://oapi.dingtalk.com/robot/send?access_token=abc"),  # another provider's
    (Channel.DINGTALK, "https://oapi.dingtalk.com.evil.example/robot/send?access_token=abc"),
    (Channel.DINGTALK, "https://user@oapi.dingtalk.com/robot/send?access_token=abc"),
    (Channel.DINGTALK, "https://oapi.dingtalk.com:8443/robot/send?access_token=abc"),
    (Channel.DINGTALK, "https://OAPI.dingtalk.com/robot/send?access_token=abc"),
    (Channel.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/"),  # no hook id
    (Channel.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/../../admin"),
    (Channel.WECOM, "http://127.0.0.1:8080/cgi-bin/webhook/send?key=abc"),  # loopback, not allowed
])
def test_other_robot_addresses_are_refused(channel, url):
    assert "webhook" in refused(channel, url)


def test_loopback_endpoints_only_under_the_setting(settings):
    local = "http://127.0.0.1:18080/robot/send?access_token=test"
    refused(Channel.DINGTALK, local)
    settings.NOTIFY_ALLOW_LOOPBACK_ENDPOINTS = True
    assert contract.check_address(Channel.DINGTALK, local) == local
    refused(Channel.DINGTALK, "http://127.0.0.1/robot/send?access_token=test")  # a port is named
    refused(Channel.DINGTALK, "http://10.0.0.5:8080/robot/send?access_token=test")  # loopback only
    push = {**SUBSCRIPTION, "endpoint": "http://127.0.0.1:18081/push/1"}
    assert json.loads(contract.check_address(Channel.WEBPUSH, push))["endpoint"] == "http://127.0.0.1:18081/push/1"


def test_web_push_subscriptions():
    stored = contract.check_address(Channel.WEBPUSH, SUBSCRIPTION)
    assert json.loads(stored) == {"endpoint": SUBSCRIPTION["endpoint"], "keys": SUBSCRIPTION["keys"]}
    assert contract.check_address(Channel.WEBPUSH, json.dumps(SUBSCRIPTION)) == stored  # as text too
    keys = SUBSCRIPTION["keys"]
    assert "p256dh" in refused(Channel.WEBPUSH, {**SUBSCRIPTION, "keys": {**keys, "p256dh": b64url(b"\x04" * 33)}})
    assert "p256dh" in refused(Channel.WEBPUSH, {**SUBSCRIPTION, "keys": {**keys, "p256dh": b64url(b"\x02" * 65)}})
    assert "auth" in refused(Channel.WEBPUSH, {**SUBSCRIPTION, "keys": {**keys, "auth": b64url(bytes(12))}})
    assert "auth" in refused(Channel.WEBPUSH, {**SUBSCRIPTION, "keys": {**keys, "auth": "not base64!"}})
    refused(Channel.WEBPUSH, {**SUBSCRIPTION, "endpoint": "http://push.example/1"})
    refused(Channel.WEBPUSH, {**SUBSCRIPTION, "endpoint": "https://10.0.0.1/push/1"})  # not into our network
    refused(Channel.WEBPUSH, {**SUBSCRIPTION, "endpoint": "https://127.0.0.1:8443/push/1"})  # not without the setting
    refused(Channel.WEBPUSH, {"endpoint": SUBSCRIPTION["endpoint"]})
    refused(Channel.WEBPUSH, "{not json")
    refused(Channel.WEBPUSH, ["a list"])


def test_secrets_labels_waits_and_channels():
    assert contract.check_secret(Channel.DINGTALK, " SECabc123 ") == "SECabc123"
    assert contract.check_secret(Channel.EMAIL, "") == ""
    with pytest.raises(ValidationFailed) as caught:
        contract.check_secret(Channel.WECOM, "SECabc")
    assert list(caught.value.errors) == ["secret"]
    with pytest.raises(ValidationFailed):
        contract.check_secret(Channel.FEISHU, "has space")
    with pytest.raises(ValidationFailed) as caught:
        contract.check_wait(241)
    assert list(caught.value.errors) == ["wait_minutes"]
    assert contract.check_wait(0) == 0 and contract.check_wait(240) == 240
    with pytest.raises(ValidationFailed):
        contract.check_wait(True)
    with pytest.raises(ValidationFailed) as caught:
        contract.check_channel("pager")
    assert list(caught.value.errors) == ["channel"]


def test_messages_are_translated():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert "手机号码" in refused(Channel.SMS, "12345")
    with translation.override("zh-hant"):
        assert "號碼" in refused(Channel.SMS, "12345")


def test_what_is_urgent():
    assert contract.is_urgent(kind=contract.ACK_REQUEST, level="IV")
    assert contract.is_urgent(kind=contract.ESCALATION, level="IV")
    assert contract.is_urgent(kind=contract.FOR_INFORMATION, level="I")
    assert contract.is_urgent(kind=contract.FOR_INFORMATION, level="III")
    assert not contract.is_urgent(kind=contract.FOR_INFORMATION, level="IV")
    assert not contract.is_urgent(kind=contract.FOR_INFORMATION)
    with pytest.raises(ValueError):
        contract.is_urgent(kind="gossip")


def test_shown_addresses_hide_robot_keys():
    assert contract.shown_address(Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=s3cr3t") \
        == "qyapi.weixin.qq.com"
    assert contract.shown_address(Channel.WEBPUSH, json.dumps(SUBSCRIPTION)) == "fcm.googleapis.com"
    assert contract.shown_address(Channel.SMS, "+85251234567") == "+85251234567"
