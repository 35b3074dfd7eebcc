"""Signing secrets and signatures of webhook deliveries.

The header (docs/webhooks.md): `Liandong-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256, keyed with the subscription's secret (its UTF-8 bytes, `whsec_…` included), over
`<t>.<raw body>`. After a secret is rotated, deliveries carry a second `v1=` made with the old
secret for WEBHOOK_SECRET_GRACE_SECONDS, so a receiver can switch over without losing any.

Secrets are derived, not stored: secret = HMAC-SHA256(WEBHOOK_SIGNING_KEY, salt), with a random
salt per subscription. Signing needs the secret itself, so a one-way hash cannot be stored;
deriving it keeps a copy of the database alone (backups, a read replica) from forging
deliveries, and rotation is a new salt. Changing WEBHOOK_SIGNING_KEY changes every secret.
"""

import base64
import hashlib
import hmac
import secrets
import time

from django.conf import settings

SECRET_PREFIX = "whsec_"
HEADER = "Liandong-Signature"


def new_salt() -> str:
    return secrets.token_hex(16)


def secret_for(salt: str) -> str:
    digest = hmac.new(settings.WEBHOOK_SIGNING_KEY.encode(), f"liandong-webhook:{salt}".encode(), hashlib.sha256)
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, secrets_: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(secret, timestamp, body)}" for secret in secrets_)])


def verify(header: str, body: bytes, secret: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and the tests): a signature made with this secret, recently."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
