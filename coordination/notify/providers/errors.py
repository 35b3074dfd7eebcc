"""What a provider's error code means to a person reading who was reached (docs/providers.md, "Errors").

A row keeps the provider's exact code (`http_503`, `smtp_550`, `tencent:LimitExceeded.…`,
`dingtalk_130101`; a failure receipt `gateway:<error>` or `tencent-receipt:<errmsg>`): stable
for operators, meaningless to an officer. The incident page shows its kind instead, one of a
few, translated: `error_kind(code)` and `error_label(code)`. Codes not made here (the
pipeline's `outcome_unknown`, `internal:…`) have kinds too, so every failed row reads as a
sentence in the reader's language.
"""

import re

from django.utils.translation import gettext_lazy as _

TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
PROVIDER_ERROR = "provider_error"
RATE_LIMITED = "rate_limited"
ADDRESS_REFUSED = "address_refused"
NOT_CONFIGURED = "not_configured"
UNDELIVERED = "undelivered"
UNKNOWN_OUTCOME = "unknown_outcome"
REFUSED = "refused"

LABELS = {
    TIMEOUT: _("The provider did not answer in time"),
    UNREACHABLE: _("The provider could not be reached"),
    PROVIDER_ERROR: _("The provider had an error"),
    RATE_LIMITED: _("The provider is limiting how fast messages are sent"),
    ADDRESS_REFUSED: _("The address was refused"),
    NOT_CONFIGURED: _("This channel is not set up"),
    UNDELIVERED: _("Not delivered, says the provider's receipt"),
    UNKNOWN_OUTCOME: _("Unknown whether it was sent"),
    REFUSED: _("The provider refused the message"),
}

# The services' own rate-limit codes (docs/providers.md, "Group robots").
_ROBOT_RATE_LIMITS = {"wecom_45009", "dingtalk_130101", "feishu_9499", "feishu_11232", "feishu_11233"}
_ROBOT_BUSY = {"wecom_-1", "dingtalk_-1"}
_ROBOT_ADDRESS = {"wecom_93000", "dingtalk_300001", "dingtalk_310000", "feishu_19001", "feishu_19021"}
_HTTP = re.compile(r"^http_(\d{3})$")
_SMTP = re.compile(r"^smtp_(\d{3})$")


def error_kind(code: str) -> str:
    code = code or ""
    if code in (TIMEOUT, "tencent:ClientNetworkError") or code.endswith(":Timeout"):
        return TIMEOUT
    if code in ("connection", "smtp_disconnected", "tencent:ServerNetworkError"):
        return UNREACHABLE
    if code in ("not_configured", "smtp_auth") or code.startswith("tencent:AuthFailure"):
        return NOT_CONFIGURED
    if code == "outcome_unknown":
        return UNKNOWN_OUTCOME
    if code.startswith(("gateway:", "tencent-receipt:", "undelivered")):
        return UNDELIVERED
    if code in _ROBOT_RATE_LIMITS or code.startswith(("tencent:LimitExceeded", "tencent:RequestLimitExceeded")):
        return RATE_LIMITED
    if code in _ROBOT_ADDRESS or code in ("subscription_gone", "bad_subscription", "url_not_allowed",
                                          "smtp_recipient_refused"):
        return ADDRESS_REFUSED
    if code.startswith(("tencent:InvalidParameterValue", "tencent:FailedOperation.PhoneNumber")):
        return ADDRESS_REFUSED
    if code in _ROBOT_BUSY or code.startswith(("internal:", "tencent:InternalError")) or code in (
            "bad_response", "smtp_error", "tencent_no_status", "http_error"):
        return PROVIDER_ERROR
    if match := _HTTP.match(code):
        status = int(match.group(1))
        if status == 429:
            return RATE_LIMITED
        if status >= 500 or status == 408:
            return PROVIDER_ERROR
        if status in (404, 410):
            return ADDRESS_REFUSED
        return REFUSED
    if match := _SMTP.match(code):
        return PROVIDER_ERROR if int(match.group(1)) < 500 else ADDRESS_REFUSED
    return REFUSED


def error_label(code: str):
    """The kind as a lazily translated sentence (rendered in the reader's language)."""
    return LABELS[error_kind(code)]
