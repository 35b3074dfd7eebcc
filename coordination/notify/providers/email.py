"""E-mail through Django's mail backend (`settings.EMAIL_*`; docs/providers.md, "E-mail").

One SMTP connection is kept per worker thread and reused from message to message: opening one
per message (TCP, EHLO, STARTTLS, AUTH) costs more than the message itself, and the benchmark
holds us to half the speed of one `send_mail` loop on one connection. A connection the server
closed while idle is opened again once, before anything was sent on it.

The Message-ID is derived from the idempotency key, so the same notification sent twice (a
worker killed between the server's 250 and our commit) carries the same Message-ID, and mail
systems that deduplicate on it show it once.
"""

import hashlib
import re
import smtplib
import socket
import threading

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from coordination.notify.providers.base import Handed, Message, ProviderError

_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_local = threading.local()


def message_id_for(idempotency_key: str) -> str:
    """`<liandong.KEY@DOMAIN>`: the key itself when it is made of safe characters, its digest otherwise."""
    key = idempotency_key if _SAFE_KEY.match(idempotency_key) else hashlib.sha256(
        idempotency_key.encode()
    ).hexdigest()[:40]
    domain = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "") or _domain_of(settings.DEFAULT_FROM_EMAIL)
    return f"<liandong.{key}@{domain}>"


def _domain_of(address: str) -> str:
    address = address.strip().rstrip(">")
    return address.rsplit("@", 1)[1] if "@" in address else "liandong.invalid"


def _smtp_code(exc: smtplib.SMTPException) -> int:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        # One refused recipient per message: its code decides.
        return min(codes) if codes else 0
    return int(getattr(exc, "smtp_code", 0) or 0)


def _error(exc: Exception) -> ProviderError:
    """SMTP's own rule: 4xx is "try again later", 5xx is final; a broken connection is transient."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our credentials are wrong: no retry will fix it, the next channel may reach the person.
        return ProviderError("smtp_auth", str(exc.smtp_code), transient=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return ProviderError("smtp_disconnected", str(exc)[:200], transient=True)
    if isinstance(exc, smtplib.SMTPException):
        code = _smtp_code(exc)
        if isinstance(exc, smtplib.SMTPRecipientsRefused) and 500 <= code < 600:
            return ProviderError("smtp_recipient_refused", str(code), transient=False)
        if 500 <= code < 600:
            return ProviderError(f"smtp_{code}", "", transient=False)
        if 400 <= code < 500:
            return ProviderError(f"smtp_{code}", "", transient=True)
        return ProviderError("smtp_error", str(exc)[:200], transient=True)
    if isinstance(exc, socket.timeout | TimeoutError):
        return ProviderError("timeout", "", transient=True)
    if isinstance(exc, OSError):
        # Refused, reset, unreachable, DNS: the server may be back in a minute.
        return ProviderError("connection", type(exc).__name__, transient=True)
    raise exc


def _connection_key() -> tuple:
    return (
        settings.EMAIL_BACKEND,
        getattr(settings, "EMAIL_HOST", ""),
        getattr(settings, "EMAIL_PORT", 0),
        getattr(settings, "EMAIL_HOST_USER", ""),
        getattr(settings, "EMAIL_USE_TLS", False),
        getattr(settings, "EMAIL_USE_SSL", False),
    )


def _connection(*, fresh: bool = False):
    key = _connection_key()
    held = getattr(_local, "held", None)
    if held is not None and (fresh or held[0] != key):
        close_connection()
        held = None
    if held is None:
        connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
        _local.held = (key, connection)
        return connection
    return held[1]


def close_connection() -> None:
    """Close this thread's SMTP connection (a worker shutting down, a test changing servers)."""
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None:
        try:
            held[1].close()
        except Exception:  # noqa: BLE001 - closing a dead connection must not hide the send's outcome
            pass


class EmailProvider:
    channel = "email"

    def build(self, message: Message, connection=None) -> EmailMessage:
        # Plain text only: every mail client makes the link clickable, and an HTML alternative
        # (multipart, urlize) tripled the cost of building a message, which the 1,000-person
        # benchmark pays a thousand times. The link goes in once: the template may have placed it.
        body = message.text if not message.link or message.link in message.text else f"{message.text}\n\n{message.link}"
        return EmailMessage(
            subject=message.subject.replace("\n", " ").replace("\r", " "),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.address],
            headers={
                "Message-ID": message_id_for(message.idempotency_key),
                "X-Liandong-Idempotency-Key": message.idempotency_key,
                # Ask vacation responders and list managers not to answer an alarm.
                "Auto-Submitted": "auto-generated",
            },
            connection=connection,
        )

    def send(self, message: Message) -> Handed:
        email = self.build(message)
        held = getattr(_local, "held", None)
        reused = held is not None and held[0] == _connection_key()
        try:
            self._send(email, _connection())
        except smtplib.SMTPServerDisconnected:
            if not reused:
                close_connection()
                raise _error(smtplib.SMTPServerDisconnected("disconnected")) from None
            # The kept connection died while idle; nothing was sent on it: open a new one once.
            try:
                self._send(email, _connection(fresh=True))
            except Exception as exc:  # noqa: BLE001 - mapped below
                close_connection()
                raise _error(exc) from exc
        except Exception as exc:  # noqa: BLE001 - every failure is mapped to transient or permanent
            close_connection()
            raise _error(exc) from exc
        return Handed(provider_id=email.extra_headers["Message-ID"])

    @staticmethod
    def _send(email: EmailMessage, connection) -> None:
        email.connection = connection
        # open() is a no-op on an open connection; send_messages leaves a connection it did
        # not open itself open, which is what keeps it for the next message.
        connection.open()
        sent = connection.send_messages([email])
        if not sent:
            raise smtplib.SMTPException("not sent")
