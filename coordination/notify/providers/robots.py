"""The group robots of WeCom, DingTalk and Feishu, each as its documentation says (docs/providers.md).

A robot contact's address is its webhook URL; it must start with one of the service's URL
prefixes in settings, so an address typed into a profile cannot make a worker call anything
else. The signing secret (DingTalk "加签", Feishu "签名校验") is `message.secret`, never logged.

- WeCom (企业微信群机器人): `POST <url with ?key=…>`, `{"msgtype": "markdown", "markdown": {"content": …}}`
  (at most 4096 bytes); success is `errcode` 0; 45009 (frequency limit) and -1 (busy) are transient.
- DingTalk (钉钉自定义机器人): with a secret, `timestamp` (milliseconds) and `sign` are added to the
  query: sign = urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret))); the
  timestamp must be within an hour of DingTalk's clock. `{"msgtype": "markdown", "markdown": {"title", "text"}}`;
  success is `errcode` 0; 130101 (sending too fast) and -1 are transient, 310000 (sign, keyword or
  address refused) and the rest permanent.
- Feishu (飞书自定义机器人): with a secret, the JSON body carries `timestamp` (seconds, a string) and
  `sign` = base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=empty)); `{"msg_type": "text",
  "content": {"text": …}}`; success is `code` 0 (older deployments: `StatusCode` 0); 9499 and
  11232 (frequency limits) are transient, 19021 (sign or timestamp refused) and the rest permanent.
"""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote_plus

from django.conf import settings

from coordination.notify.providers import http
from coordination.notify.providers.base import Handed, Message, ProviderError

WECOM_MAX_BYTES = 4096
DINGTALK_MAX_BYTES = 18000  # DingTalk's markdown limit is 20,000 bytes with the title
FEISHU_MAX_BYTES = 30000  # Feishu's request body limit is 20 KB for cards, 30 KB in all

WECOM_TRANSIENT = {45009, -1}
DINGTALK_TRANSIENT = {130101, -1}
FEISHU_TRANSIENT = {9499, 11232, 11233}


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), not yet URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """base64(HMAC-SHA256 keyed with "<timestamp>\\n<secret>" of the empty message)."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _clip(text: str, max_bytes: int) -> str:
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode(errors="ignore") + "…"


def _check_url(url: str, prefixes: list[str], channel: str) -> None:
    if not any(url.startswith(prefix) for prefix in prefixes if prefix):
        raise ProviderError("url_not_allowed", channel, transient=False)


def _body(message: Message) -> str:
    if message.link and message.link not in message.text:
        return f"{message.text}\n\n{message.link}"
    return message.text


def _post_json(url: str, payload: dict) -> dict:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = http.post(
        url, content=body, headers={"Content-Type": "application/json; charset=utf-8"},
        seconds=settings.ROBOT_TIMEOUT_SECONDS,
    )
    if response.status_code == 429 or response.status_code >= 500:
        http.raise_for_status(response)
    try:
        data = response.json()
    except ValueError:
        http.raise_for_status(response)
        raise ProviderError("bad_response", "not JSON", transient=True) from None
    if not isinstance(data, dict):
        http.raise_for_status(response)
        raise ProviderError("bad_response", "not a JSON object", transient=True)
    if not any(key in data for key in ("errcode", "code", "StatusCode")):
        # A 4xx without the service's own error code (a proxy, a wrong path) is judged by its status.
        http.raise_for_status(response)
    return data


def _outcome(channel: str, code, text: str, transient_codes: set[int]) -> Handed:
    try:
        number = int(code)
    except (TypeError, ValueError):
        raise ProviderError(f"{channel}_bad_response", str(code)[:50], transient=True) from None
    if number == 0:
        return Handed()
    raise ProviderError(f"{channel}_{number}", str(text or "")[:200], transient=number in transient_codes)


class WeComRobotProvider:
    channel = "wecom"

    def send(self, message: Message) -> Handed:
        _check_url(message.address, settings.WECOM_ROBOT_URL_PREFIXES, self.channel)
        content = _body(message)
        if message.subject:
            content = f"**{message.subject}**\n{content}"
        payload = {"msgtype": "markdown", "markdown": {"content": _clip(content, WECOM_MAX_BYTES)}}
        data = _post_json(message.address, payload)
        return _outcome(self.channel, data.get("errcode"), data.get("errmsg"), WECOM_TRANSIENT)


class DingTalkRobotProvider:
    channel = "dingtalk"

    def url_for(self, message: Message, *, now: float | None = None) -> str:
        url = message.address
        if message.secret:
            timestamp = int((now if now is not None else time.time()) * 1000)
            sign = quote_plus(dingtalk_sign(message.secret, timestamp))
            url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
        return url

    def send(self, message: Message) -> Handed:
        _check_url(message.address, settings.DINGTALK_ROBOT_URL_PREFIXES, self.channel)
        title = message.subject or message.text[:30]
        text = _body(message)
        if message.subject:
            text = f"### {message.subject}\n\n{text}"
        payload = {"msgtype": "markdown", "markdown": {"title": title, "text": _clip(text, DINGTALK_MAX_BYTES)}}
        data = _post_json(self.url_for(message), payload)
        return _outcome(self.channel, data.get("errcode"), data.get("errmsg"), DINGTALK_TRANSIENT)


class FeishuRobotProvider:
    channel = "feishu"

    def payload_for(self, message: Message, *, now: float | None = None) -> dict:
        text = _body(message)
        if message.subject:
            text = f"{message.subject}\n{text}"
        payload: dict = {"msg_type": "text", "content": {"text": _clip(text, FEISHU_MAX_BYTES)}}
        if message.secret:
            timestamp = str(int(now if now is not None else time.time()))
            payload = {"timestamp": timestamp, "sign": feishu_sign(message.secret, timestamp), **payload}
        return payload

    def send(self, message: Message) -> Handed:
        _check_url(message.address, settings.FEISHU_ROBOT_URL_PREFIXES, self.channel)
        data = _post_json(message.address, self.payload_for(message))
        code = data.get("code", data.get("StatusCode"))
        return _outcome(self.channel, code, data.get("msg") or data.get("StatusMessage"), FEISHU_TRANSIENT)
