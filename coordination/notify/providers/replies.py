"""The code an SMS names so that a reply can acknowledge it (docs/providers.md, "SMS replies").

Derived, not stored: six digits of HMAC-SHA256(SECRET_KEY, notification id). The rule that reads
a reply (coordination.notify.callbacks.sms_reply_acknowledge) recomputes it for the few messages
sent to the replying number, so no column, no index and no secret at rest are needed. Six digits
are not a password: a reply is believed only from the number the message went to, through the
gateway's signed callback; the code says which of that person's messages it answers.
"""

import hashlib
import hmac

from django.conf import settings

REPLY_CODE_DIGITS = 6


def reply_code_for(notification_id) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"liandong-sms-reply:{notification_id}".encode(), hashlib.sha256
    ).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**REPLY_CODE_DIGITS).zfill(REPLY_CODE_DIGITS)
