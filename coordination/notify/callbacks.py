"""What providers tell us back, authenticated (docs/providers.md, "SMS gateway contract", "Tencent
Cloud SMS").

The rules live here; coordination/notify/api/callbacks.py only hands over the raw body and the
headers. A callback is believed only when it is signed with the gateway's key and secret over
its exact bytes and its timestamp is within SMS_GATEWAY_CALLBACK_WINDOW_SECONDS of our clock:
anything else is a 401 and changes nothing. A replay inside the window changes nothing either,
since a receipt only moves a row forward along its lifecycle (services.notification_receipt).
"""

import hmac
import json
import logging
import re
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction

from config.errors import ApplicationError, AuthenticationFailed, NotFound, ValidationFailed
from coordination.authentication import principal_for_user
from coordination.notify.lifecycle import OUT_STATES
from coordination.notify.models import Notification
from coordination.notify.providers import sms_gateway
from coordination.notify.providers.replies import REPLY_CODE_DIGITS, reply_code_for
from coordination.notify.services import notification_acknowledged, notification_receipt
from coordination.people.contract import check_phone
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

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


# --- Tencent Cloud SMS receipts --------------------------------------------------------------------

TENCENT_REPORTS_MAX = 1000  # Tencent batches receipts; a body of more is not Tencent's


def tencent_authenticate(*, token: str, what: str) -> None:
    """Tencent signs neither its receipts nor its replies: the URL given to its console carries
    TENCENT_SMS_CALLBACK_TOKEN, compared in constant time (NotFound when none is configured: the
    endpoints are off; AuthenticationFailed for a wrong one)."""
    expected = settings.TENCENT_SMS_CALLBACK_TOKEN
    if not expected:
        raise NotFound("Tencent SMS callbacks are not enabled.")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        logger.warning("Tencent SMS %s refused: wrong token", what)
        raise AuthenticationFailed("The callback's token is not ours.")


def tencent_receipts(*, token: str, body: bytes) -> int:
    """Tencent's delivery receipts (短信下发状态通知): a JSON array of `{"sid", "report_status":
    "SUCCESS" | "FAIL", "errmsg", …}`; `sid` is the SerialNo SendSms returned. Tencent does not
    sign them, so the URL given to its console carries TENCENT_SMS_CALLBACK_TOKEN, compared in
    constant time. Returns how many receipts named one of our messages."""
    tencent_authenticate(token=token, what="receipt")
    try:
        reports = json.loads(body)
    except ValueError:
        raise ValidationFailed("The body is not JSON.") from None
    if not isinstance(reports, list) or len(reports) > TENCENT_REPORTS_MAX:
        raise ValidationFailed(f"The body is a JSON array of at most {TENCENT_REPORTS_MAX} receipts.")
    matched = 0
    for report in reports:
        if not isinstance(report, dict):
            continue
        sid, status = report.get("sid"), report.get("report_status")
        if not isinstance(sid, str) or not sid or status not in ("SUCCESS", "FAIL"):
            continue
        error = report.get("errmsg") if isinstance(report.get("errmsg"), str) else ""
        row = notification_receipt(channel="sms", provider_id=sid[:200], delivered=status == "SUCCESS",
                                   error_code=f"tencent-receipt:{error or 'undelivered'}"[:64])
        matched += row is not None
    return matched


# --- SMS replies ---------------------------------------------------------------------------------

# The code a message names: a run of exactly REPLY_CODE_DIGITS digits, whatever surrounds it
# ("ACK 482913", "确认482913", "482913").
_CODE = re.compile(rf"(?<![0-9])([0-9]{{{REPLY_CODE_DIGITS}}})(?![0-9])")
# How many of a number's latest messages a reply is matched against.
REPLY_CANDIDATES = 50


def sms_reply_acknowledge(number: str, text: str) -> str:
    """An SMS reply that names a message's code acknowledges that message's request, as the person
    it was sent to, through the same service as the link (workflows' acknowledgement_acknowledge,
    recorded as the person, stopping the escalation). The code alone is not enough: the reply
    must come from the number the message went to. Returns what happened: "acknowledged",
    "already" (the message was used before), "no_match" (nothing changes) or "refused" (the
    person may no longer acknowledge, or the request was withdrawn)."""
    try:
        number = check_phone(number)
    except ValidationFailed:
        return "no_match"
    codes = set(_CODE.findall(text or ""))
    if not codes:
        return "no_match"
    rows = (Notification.objects.select_related("recipient")
            .filter(channel="sms", address=number, acknowledgement__isnull=False,
                    state__in=OUT_STATES | {"acknowledged"})
            .order_by("-sent_at")[:REPLY_CANDIDATES])
    row = next((row for row in rows if reply_code_for(row.pk) in codes), None)
    if row is None:
        return "no_match"
    if row.state == "acknowledged":
        return "already"
    principal = principal_for_user(row.recipient)
    if principal is None or not row.recipient.is_active:
        return "refused"
    try:
        with transaction.atomic():
            if not notification_acknowledged(notification=row):
                return "already"
            acknowledgement_acknowledge(actor=principal, acknowledgement_id=row.acknowledgement_id,
                                        comment="")
    except ApplicationError as exc:
        logger.info("SMS reply for notification %s refused: %s", row.pk, exc)
        return "refused"
    return "acknowledged"


def gateway_reply(*, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """The gateway's inbound SMS: `{"from": "+8613800138000", "text": "ACK 482913"}`."""
    gateway_authenticate(headers=headers, body=body, now=now)
    data = _payload(body)
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise ValidationFailed("`from` and `text` are required strings.")
    return sms_reply_acknowledge(sender[:64], text[:1000])


def tencent_reply(*, token: str, body: bytes) -> str:
    """Tencent's SMS reply callback (短信回复): `{"extend", "mobile": "13800138000", "nationcode":
    "86", "sign", "text": "ACK 482913", "time"}`, authenticated as its receipts are (the URL's
    token). The number is `+<nationcode><mobile>`; the reply acknowledges as the gateway's does
    (sms_reply_acknowledge: the code and the number it went to, both)."""
    tencent_authenticate(token=token, what="reply")
    data = _payload(body)
    mobile, nationcode, text = data.get("mobile"), data.get("nationcode"), data.get("text")
    if not all(isinstance(value, str) for value in (mobile, nationcode, text)):
        raise ValidationFailed("`mobile`, `nationcode` and `text` are required strings.")
    number = mobile if mobile.startswith("+") else f"+{nationcode.lstrip('+')}{mobile}"
    return sms_reply_acknowledge(number[:64], text[:1000])
