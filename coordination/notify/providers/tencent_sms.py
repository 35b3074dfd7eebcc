"""Tencent Cloud SMS through its official SDK (SendSms, API version 2021-01-11; docs/providers.md).

Tencent sends only approved templates: the message's text goes in as the template's parameters
(`message.extra["template_params"]`, else the whole text as the one parameter of
TENCENT_SMS_TEMPLATE_ID, or `message.extra["template_id"]`). The idempotency key travels as
SessionContext, which Tencent hands back in its delivery receipts. The endpoint and protocol come
from settings so the tests can point the SDK at a local server that checks its TC3-HMAC-SHA256
signature.

Errors, by Tencent's error-code families: LimitExceeded.* (frequency limits), RequestLimitExceeded*,
InternalError.* and the SDK's own network errors are transient; InvalidParameterValue.*,
InvalidParameter*, FailedOperation.*, UnauthorizedOperation.*, AuthFailure.* and the rest are
permanent. LimitExceeded.PhoneNumberDailyLimit is permanent too: no retry helps before tomorrow.
"""

import threading

from django.conf import settings
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from coordination.notify.providers.base import Handed, Message, ProviderError

_TRANSIENT_PREFIXES = (
    "LimitExceeded", "RequestLimitExceeded", "InternalError", "ClientNetworkError", "ServerNetworkError",
)
_PERMANENT_CODES = {"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.AppDailyLimit"}
_local = threading.local()


def is_transient(code: str) -> bool:
    if code in _PERMANENT_CODES:
        return False
    return code.split(".", 1)[0] in _TRANSIENT_PREFIXES


def _client() -> sms_client.SmsClient:
    key = (
        settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY, settings.TENCENT_SMS_REGION,
        settings.TENCENT_SMS_ENDPOINT, settings.TENCENT_SMS_PROTOCOL, settings.TENCENT_SMS_TIMEOUT_SECONDS,
    )
    held = getattr(_local, "held", None)
    if held is not None and held[0] == key:
        return held[1]
    http_profile = HttpProfile(
        protocol=settings.TENCENT_SMS_PROTOCOL,
        endpoint=settings.TENCENT_SMS_ENDPOINT,
        reqTimeout=settings.TENCENT_SMS_TIMEOUT_SECONDS,
        keepAlive=True,  # one connection per worker thread, as with SMTP
    )
    profile = ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http_profile)
    cred = credential.Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY)
    client = sms_client.SmsClient(cred, settings.TENCENT_SMS_REGION, profile)
    _local.held = (key, client)
    return client


class TencentSmsProvider:
    channel = "sms"

    def request_for(self, message: Message) -> models.SendSmsRequest:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [message.address]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.TENCENT_SMS_SIGN_NAME
        request.TemplateId = str(message.extra.get("template_id") or settings.TENCENT_SMS_TEMPLATE_ID)
        params = message.extra.get("template_params")
        request.TemplateParamSet = [str(p) for p in params] if params else [message.text]
        request.SessionContext = message.idempotency_key[:500]  # Tencent: under 512 bytes
        return request

    def send(self, message: Message) -> Handed:
        if not (settings.TENCENT_SMS_SECRET_ID and settings.TENCENT_SMS_SECRET_KEY and settings.TENCENT_SMS_SDK_APP_ID):
            raise ProviderError("not_configured", "TENCENT_SMS_SECRET_ID, _SECRET_KEY, _SDK_APP_ID", transient=False)
        request = self.request_for(message)
        if not request.TemplateId:
            raise ProviderError("not_configured", "TENCENT_SMS_TEMPLATE_ID", transient=False)
        try:
            response = _client().SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "unknown")
            if code in ("ClientNetworkError", "ServerNetworkError"):
                _local.held = None  # a fresh session next time
            raise ProviderError(_short(code), str(exc.get_message() or "")[:200], transient=is_transient(code)) from exc
        statuses = response.SendStatusSet or []
        if not statuses:
            raise ProviderError("tencent_no_status", response.RequestId or "", transient=True)
        status = statuses[0]
        if status.Code == "Ok":
            return Handed(provider_id=status.SerialNo or "")
        code = status.Code or "unknown"
        raise ProviderError(_short(code), (status.Message or "")[:200], transient=is_transient(code))


def _short(code: str) -> str:
    # Stored on the row and shown translated: Tencent's code is stable and short enough.
    return f"tencent:{code}"[:64]
