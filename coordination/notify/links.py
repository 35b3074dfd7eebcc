"""Acknowledgement links: `PUBLIC_BASE_URL/ack/<token>/`, one per notification row.

The token names the row and is signed (django.core.signing, under its own salt, so no other
signed value of the service can pass for one): whoever holds the link may acknowledge as the
person it was sent to, for the jurisdiction it was sent for, without logging in. The rest of
what makes a link good is read from the row, not from the token:

- single use: a row that is `acknowledged` has been used;
- expiring: LINK_MAX_AGE after the row was queued, and as soon as the acknowledgement is no
  longer pending (answered by anyone, or withdrawn with its run): the escalation ended;
- it names one row: the signature alone says nothing about state, so a token copied between
  rows is refused (it names another row) and a forged one is a bad signature.

Short on purpose: an SMS is 70 Chinese characters a segment and the link is read inside one.
The row id travels as 22 base64url characters and the signature is HMAC-SHA256 cut to its
first 128 bits (22 characters), the truncation RFC 4868 uses for HMAC-SHA256-128.
"""

import base64
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "coordination.notify.links.ack"
LINK_MAX_AGE = timedelta(hours=24)
_SIGNATURE_LENGTH = 22


class _ShortSigner(signing.Signer):
    def signature(self, value, key=None):
        return super().signature(value, key)[:_SIGNATURE_LENGTH]


def _signer() -> signing.Signer:
    return _ShortSigner(salt=SALT, sep=".")


def token_for(notification_id) -> str:
    raw = base64.urlsafe_b64encode(uuid.UUID(str(notification_id)).bytes).rstrip(b"=").decode()
    return _signer().sign(raw)


def notification_id_from(token: str) -> uuid.UUID | None:
    """The row a token names, or None when it is not one of ours (bad signature, bad shape)."""
    try:
        raw = _signer().unsign(token or "")
        return uuid.UUID(bytes=base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def link_for(notification_id) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/ack/{token_for(notification_id)}/"
