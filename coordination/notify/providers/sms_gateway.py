"""A generic HTTPS SMS gateway under our own signed contract (docs/providers.md, "SMS gateway contract").

Request: `POST SMS_GATEWAY_URL` with the JSON `{"to": E.164, "text": ..., "reference": idempotency key}`
and the headers `X-Liandong-Key` (our key id), `X-Liandong-Timestamp` (unix seconds),
`X-Liandong-Signature` (hex HMAC-SHA256 with SMS_GATEWAY_SECRET over `<timestamp>.<raw body>`) and
`Idempotency-Key` (the reference again: a gateway that saw it answers with the first message's id
and sends nothing). A 2xx answers `{"id": "<gateway message id>"}`; delivery receipts and inbound
replies come back signed the same way (coordination.notify.callbacks).
"""

import hashlib
import hmac
import json
import time

from django.conf import settings

from coordination.notify.providers import http
from coordination.notify.providers.base import Handed, Message, ProviderError

KEY_HEADER = "X-Liandong-Key"
TIMESTAMP_HEADER = "X-Liandong-Timestamp"
SIGNATURE_HEADER = "X-Liandong-Signature"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(*, key_id: str, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    *, key_id: str, timestamp: str, signature_: str, body: bytes, expected_key_id: str, secret: str,
    window: int, now: float | None = None,
) -> str:
    """'' when the request is ours (or the gateway's, for callbacks), else why not (for the log)."""
    if not secret or not hmac.compare_digest(key_id.encode(), expected_key_id.encode()):
        return "unknown_key"
    if not timestamp.isdigit():
        return "bad_timestamp"
    if abs((now if now is not None else time.time()) - int(timestamp)) > window:
        return "stale"
    if not hmac.compare_digest(signature(secret, timestamp, body), signature_.strip().lower()):
        return "bad_signature"
    return ""


class SmsGatewayProvider:
    channel = "sms"
    # The contract obliges the gateway to answer a repeated Idempotency-Key with the first
    # message's id and send nothing: the pipeline may hand it a row whose worker died mid-send.
    deduplicates = True

    def send(self, message: Message) -> Handed:
        url, key_id, secret = settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_KEY_ID, settings.SMS_GATEWAY_SECRET
        if not (url and key_id and secret):
            raise ProviderError("not_configured", "SMS_GATEWAY_URL, _KEY_ID and _SECRET", transient=False)
        body = json.dumps(
            {"to": message.address, "text": message.text, "reference": message.idempotency_key},
            ensure_ascii=False, separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.idempotency_key,
            **signed_headers(key_id=key_id, secret=secret, body=body),
        }
        response = http.post(url, content=body, headers=headers, seconds=settings.SMS_GATEWAY_TIMEOUT_SECONDS)
        http.raise_for_status(response)
        data = http.json_of(response)
        provider_id = data.get("id")
        if not isinstance(provider_id, str) or not provider_id:
            # Accepted but unnamed: receipts could not find the row; the message is on its way though.
            return Handed(provider_id="")
        return Handed(provider_id=provider_id[:200])
