"""What a contact method and a notification policy may be: the one declaration the services,
the API's serializers and the web UI's forms read (docs/people.md, "Addresses").

Each check returns the address as it is stored (an E.164 number, a trimmed URL, a web push
subscription as compact JSON) or raises ValidationFailed naming the field, in the caller's
language. Which notifications are urgent (they ignore quiet hours) is declared here too.
"""

import base64
import binascii
import ipaddress
import json
from urllib.parse import parse_qs, urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from config.errors import ValidationFailed
from coordination.people.models import ADDRESS_MAX_LENGTH, WAIT_MINUTES_MAX, Channel, ContactMethod
from coordination.people.models import DEFAULT_WAIT_MINUTES as DEFAULT_WAIT_MINUTES  # the forms' and API's default

LABEL_MAX_LENGTH = ContactMethod._meta.get_field("label").max_length
SECRET_MAX_LENGTH = ContactMethod._meta.get_field("secret").max_length
EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit
MAX_METHODS = 10  # per officer: more is a list nobody keeps up to date

# Numbers without a country code are read as the officer's own: mainland China (+86) by
# default, Hong Kong (+852) and Macao (+853) for officers of those SARs (GB/T 2260 81xxxx, 82xxxx).
DEFAULT_REGION = "CN"
REGION_BY_CODE_PREFIX = {"81": "HK", "82": "MO"}
# Numbers SMS can reach: a fixed line cannot take a text message.
SMS_NUMBER_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}

# Each group robot's webhook, as its provider documents it: the host, the path (Feishu's ends
# in the hook's id) and the query parameter carrying the robot's key.
ROBOTS = {
    Channel.WECOM: ("qyapi.weixin.qq.com", "/cgi-bin/webhook/send", "key"),
    Channel.DINGTALK: ("oapi.dingtalk.com", "/robot/send", "access_token"),
    Channel.FEISHU: ("open.feishu.cn", "/open-apis/bot/v2/hook/", None),
}
# The robots that sign their requests with a secret (DingTalk "加签", Feishu "签名校验"). WeCom's
# group robot has no signing; its key in the URL is the credential.
SIGNED_CHANNELS = frozenset({Channel.DINGTALK, Channel.FEISHU})

# A web push subscription's keys (RFC 8291): the browser's P-256 public key, uncompressed
# (65 bytes, starting 0x04), and the 16-byte authentication secret, both base64url.
P256DH_BYTES = 65
AUTH_BYTES = 16


# --- urgency ------------------------------------------------------------------------------------

# What a notification is about (the pipeline's kinds). An acknowledgement request and an
# escalation always ask someone to act before a deadline: they are urgent whatever the level.
ACK_REQUEST = "ack_request"
ESCALATION = "escalation"
FOR_INFORMATION = "fyi"
KINDS = (ACK_REQUEST, ESCALATION, FOR_INFORMATION)
# Levels of incident whose mere notice is urgent: I to III (particularly serious, serious,
# relatively serious). A level IV (general) incident "for your information" waits for the
# morning.
URGENT_INFORMATION_LEVELS = frozenset({"I", "II", "III"})


def is_urgent(*, kind: str, level: str | None = None) -> bool:
    """Emergencies ignore quiet hours: every acknowledgement request and escalation, and the
    notice of an incident of level I to III. Only a notice for information about a level IV
    incident (or one of no level) respects the officer's quiet hours."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return kind != FOR_INFORMATION or level in URGENT_INFORMATION_LEVELS


# --- addresses ----------------------------------------------------------------------------------


def loopback_allowed() -> bool:
    """NOTIFY_ALLOW_LOOPBACK_ENDPOINTS (tests and drills): robots and push endpoints may then be
    http(s)://127.0.0.1:PORT/…, local servers standing in for the providers."""
    return bool(getattr(settings, "NOTIFY_ALLOW_LOOPBACK_ENDPOINTS", False))


def region_for(jurisdiction: str | None) -> str:
    """The region a number without a country code is read in, for an officer of `jurisdiction`."""
    return REGION_BY_CODE_PREFIX.get((jurisdiction or "")[:2], DEFAULT_REGION)


def _fail(field: str, message: str):
    raise ValidationFailed.on(field, message)


def check_channel(channel) -> str:
    if channel not in Channel.values:
        _fail("channel", _("Choose one of the channels: e-mail, SMS, a group robot or browser push."))
    return channel


def check_email(raw) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    try:
        if not value or len(value) > EMAIL_MAX_LENGTH:
            raise ValidationError("length")
        validate_email(value)
    except ValidationError:
        _fail("address", _("Enter a valid e-mail address, such as duty@example.gov.cn."))
    return value


def check_phone(raw, *, jurisdiction: str | None = None) -> str:
    """An SMS number as E.164 (+8613800138000). Without a country code it is read in the
    officer's region (region_for)."""
    value = raw.strip() if isinstance(raw, str) else ""
    try:
        number = phonenumbers.parse(value, region_for(jurisdiction))
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        _fail("address", _("Enter a valid mobile number; for Hong Kong or Macao start with +852 or +853."))
    if phonenumbers.number_type(number) not in SMS_NUMBER_TYPES:
        _fail("address", _("This number cannot receive text messages; enter a mobile number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _loopback(parts) -> bool:
    """http(s)://127.0.0.1:PORT/… (or [::1]), when the setting allows it."""
    if not loopback_allowed() or parts.scheme not in ("http", "https") or parts.port is None:
        return False
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def _url_parts(value: str):
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        return None
    if parts.username or parts.password or parts.fragment or any(ch.isspace() for ch in value):
        return None
    return parts


def check_robot_url(channel: str, raw) -> str:
    """A group robot's webhook: https, the provider's host and path, the robot's key present."""
    value = raw.strip() if isinstance(raw, str) else ""
    parts = _url_parts(value) if value and len(value) <= ADDRESS_MAX_LENGTH else None
    if parts is not None and _loopback(parts):
        return value
    host, path, key = ROBOTS[channel]
    # The host exactly as the provider writes it (no port, no capitals): what the worker calls
    # is then the provider and nothing else.
    ok = parts is not None and parts.scheme == "https" and parts.netloc == host
    if ok and key is None:  # Feishu: the hook's id ends the path
        hook = parts.path.removeprefix(path)
        ok = parts.path.startswith(path) and bool(hook) and hook.isascii() and hook.replace("-", "").isalnum()
    elif ok:
        ok = parts.path == path and bool(parse_qs(parts.query).get(key, [""])[0].strip())
    if not ok:
        example = {
            Channel.WECOM: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
            Channel.DINGTALK: "https://oapi.dingtalk.com/robot/send?access_token=…",
            Channel.FEISHU: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
        }[channel]
        _fail("address", _("Enter the robot's webhook address as the group's settings show it: %(example)s")
              % {"example": example})
    return value


def _public_host(hostname: str | None) -> bool:
    """A push service's host: a name, or an address on the public internet (a subscription
    must not make the worker call into the private network)."""
    if not hostname:
        return False
    try:
        return ipaddress.ip_address(hostname).is_global
    except ValueError:
        return hostname != "localhost" and not hostname.endswith(".localhost")


def _b64url_bytes(text) -> bytes | None:
    if not isinstance(text, str) or not text.isascii() or not all(ch.isalnum() or ch in "-_=" for ch in text):
        return None
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def check_webpush(raw) -> str:
    """A browser's PushSubscription (its toJSON(): endpoint, keys.p256dh, keys.auth), given as
    an object or as its JSON text; stored as compact JSON with those three members."""
    subscription = raw
    if isinstance(raw, str):
        try:
            subscription = json.loads(raw) if len(raw) <= ADDRESS_MAX_LENGTH else None
        except ValueError:
            subscription = None
    message = _("Enter the browser's push subscription: JSON with an https endpoint and the keys p256dh and auth.")
    if not isinstance(subscription, dict) or not isinstance(subscription.get("keys"), dict):
        _fail("address", message)
    endpoint = subscription.get("endpoint")
    parts = _url_parts(endpoint.strip()) if isinstance(endpoint, str) and endpoint.strip() else None
    if parts is None or not (_loopback(parts) or (parts.scheme == "https" and _public_host(parts.hostname))):
        _fail("address", message)
    p256dh = _b64url_bytes(subscription["keys"].get("p256dh"))
    auth = _b64url_bytes(subscription["keys"].get("auth"))
    if p256dh is None or len(p256dh) != P256DH_BYTES or p256dh[0] != 4:
        _fail("address", _("The subscription's key p256dh is not a P-256 public key (65 bytes, base64url)."))
    if auth is None or len(auth) != AUTH_BYTES:
        _fail("address", _("The subscription's key auth is not a 16-byte secret (base64url)."))
    stored = json.dumps({"endpoint": endpoint.strip(), "keys": {"p256dh": subscription["keys"]["p256dh"],
                                                                "auth": subscription["keys"]["auth"]}},
                        separators=(",", ":"))
    if len(stored) > ADDRESS_MAX_LENGTH:
        _fail("address", message)
    return stored


def check_address(channel: str, raw, *, jurisdiction: str | None = None) -> str:
    """The address as stored for `channel`; `jurisdiction` (the officer's) reads local numbers."""
    check_channel(channel)
    if channel == Channel.EMAIL:
        return check_email(raw)
    if channel == Channel.SMS:
        return check_phone(raw, jurisdiction=jurisdiction)
    if channel == Channel.WEBPUSH:
        return check_webpush(raw)
    return check_robot_url(channel, raw)


def check_secret(channel: str, raw) -> str:
    """A robot's signing secret: only DingTalk's and Feishu's robots take one (optional: a robot
    may instead be set to check a keyword or the caller's address)."""
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return ""
    if channel not in SIGNED_CHANNELS:
        _fail("secret", _("Only DingTalk and Feishu robots take a signing secret."))
    if len(value) > SECRET_MAX_LENGTH or not value.isascii() or any(not ch.isprintable() or ch.isspace()
                                                                     for ch in value):
        _fail("secret", _("Enter the signing secret as the robot's settings show it (at most %(most)s characters).")
              % {"most": SECRET_MAX_LENGTH})
    return value


def check_label(raw) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    if len(value) > LABEL_MAX_LENGTH or any(not ch.isprintable() for ch in value):
        _fail("label", _("A label of at most %(most)s characters, on one line.") % {"most": LABEL_MAX_LENGTH})
    return value


def check_wait(raw) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= WAIT_MINUTES_MAX:
        _fail("wait_minutes", _("Enter a whole number of minutes from 0 to %(most)s.") % {"most": WAIT_MINUTES_MAX})
    return raw


def shown_address(channel: str, address: str) -> str:
    """What a page shows of an address: the whole of an e-mail address or number; of a robot
    only its host (the key in its URL is a credential); of a push subscription its service's host."""
    if channel in (Channel.EMAIL, Channel.SMS):
        return address
    if channel == Channel.WEBPUSH:
        try:
            address = json.loads(address).get("endpoint", "")
        except (ValueError, AttributeError):
            return ""
    return urlsplit(address).netloc
