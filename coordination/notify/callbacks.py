"""What providers tell us back, authenticated (docs/providers.md, "SMS gateway contract").

The rules live here; coordination/notify/api/callbacks.py only hands over the raw body and the
headers. A callback is believed only when it is signed with the gateway's key and secret over
its exact bytes and its timestamp is within SMS_GATEWAY_CALLBACK_WINDOW_SECONDS of our clock:
anything else is a 401 and changes nothing. A replay inside the window changes nothing either,
since a receipt only moves a row forward along its lifecycle (services.notification_receipt).
"""

import json
import logging
from collections.abc import Mapping

from django.conf import settings

from config.errors import AuthenticationFailed, NotFound, ValidationFailed
from coordination.notify.models import Notification
from coordination.notify.providers import sms_gateway
from coordination.notify.services import notification_receipt

logger = logging.getLogger(__name__)

RECEIPT_STATUSES = {"delivered": True, "failed": False}


def gateway_authenticate(*, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Raise AuthenticationFailed unless the gateway signed exactly this body, recently."""
    why = sms_gateway.verify(
        key_id=headers.get(sms_gateway.KEY_HEADER, ""),
        timestamp=headers.get(sms_gateway.TIMESTAMP_HEADER, ""),
        signature_=headers.get(sms_gateway.SIGNATURE_HEADER, ""),
        body=body,
        expected_key_id=settings.SMS_GATEWAY_KEY_ID,
        secret=settings.SMS_GATEWAY_SECRET,
        window=settings.SMS_GATEWAY_CALLBACK_WINDOW_SECONDS,
        now=now,
    )
    if why:
        # The reason goes to the log for the operator, not to the caller (no oracle for forgers).
        logger.warning("SMS gateway callback refused: %s", why)
        raise AuthenticationFailed("The callback is not signed by the SMS gateway, or too long ago.")


def _payload(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        raise ValidationFailed("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("The body is not a JSON object.")
    return data


def gateway_receipt(*, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Notification:
    """A delivery receipt: `{"id", "status": "delivered" | "failed", "error"?}` moves the SMS the
    gateway's id names from sent to delivered or failed (a failure sends the next channel)."""
    gateway_authenticate(headers=headers, body=body, now=now)
    data = _payload(body)
    provider_id, status = data.get("id"), data.get("status")
    if not isinstance(provider_id, str) or not provider_id or len(provider_id) > 200:
        raise ValidationFailed.on("id", "The gateway's message id is required (at most 200 characters).")
    if status not in RECEIPT_STATUSES:
        raise ValidationFailed.on("status", "One of: delivered, failed.")
    error = data.get("error") if isinstance(data.get("error"), str) else ""
    row = notification_receipt(
        channel="sms", provider_id=provider_id, delivered=RECEIPT_STATUSES[status],
        error_code=f"gateway:{error}"[:64] if error else "gateway:undelivered",
    )
    if row is None:
        raise NotFound("No SMS has this gateway id.")
    return row
