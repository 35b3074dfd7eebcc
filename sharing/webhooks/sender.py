"""One HTTP attempt of a webhook delivery, and the address rules it obeys.

Receivers' URLs may not point into the service's own network: a host that resolves to a
loopback or private address is refused unless WEBHOOK_ALLOW_PRIVATE is on, and link-local
(cloud metadata), multicast, unspecified, reserved and shared (carrier NAT) addresses are
refused always. The check
is made when a subscription is saved and again at every attempt, and the attempt connects to
the very address that was checked (the Host header and TLS server name stay the URL's), so a
DNS answer that changes in between (DNS rebinding) cannot redirect it.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

USER_AGENT = "Liandong-Webhooks/1.0"
ALLOWED_SCHEMES = {"http": 80, "https": 443}
# Statuses worth another attempt; any other non-2xx is the receiver saying no.
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class RefusedUrl(ValueError):
    """The URL may not be used (its form, or where it leads)."""


class Unresolvable(ValueError):
    """The host name does not resolve (now)."""


def check_url_form(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL, else RefusedUrl with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedUrl(f"not a valid URL ({exc})") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise RefusedUrl("the scheme must be http or https")
    if not parts.hostname:
        raise RefusedUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("credentials in the URL are not accepted; authenticate the signature instead")
    if parts.fragment:
        raise RefusedUrl("a fragment is never sent; leave it out")
    return parts.scheme, parts.hostname, port or ALLOWED_SCHEMES[parts.scheme]


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_global:
        return True
    if ip.is_loopback or ip.is_private:
        return settings.WEBHOOK_ALLOW_PRIVATE
    return False  # reserved, shared (carrier NAT) and other special-purpose ranges


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to; every one the name resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [address for address in addresses if not address_allowed(address)]
    if refused:
        raise RefusedUrl(f"{host} resolves to {refused[0]}, an address webhooks may not reach")
    return addresses


def check_url(url: str) -> None:
    """For a subscription being saved: its form, and where it leads now."""
    scheme, host, port = check_url_form(url)
    resolve(host, port)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    error: str
    permanent: bool
    retry_after: float | None
    duration_ms: int


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """POST the body to the checked address of the URL. Never raises for the receiver's sake."""
    started = time.monotonic()

    def done(ok=False, status=None, error="", permanent=False, retry_after=None) -> Attempt:
        return Attempt(ok, status, error[:500], permanent, retry_after, int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port = check_url_form(url)
        address = resolve(host, port)[0]
    except RefusedUrl as exc:
        return done(error=f"refused: {exc}", permanent=True)
    except Unresolvable as exc:
        return done(error=str(exc))
    parts = urlsplit(url)
    pinned = f"[{address}]" if ":" in address else address
    target = urlunsplit((scheme, f"{pinned}:{port}", parts.path or "/", parts.query, ""))
    default_port = port == ALLOWED_SCHEMES[scheme]
    headers = {**headers, "Host": host if default_port else f"{host}:{port}", "User-Agent": USER_AGENT,
               "Content-Type": "application/json"}
    timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS, connect=min(3.0, settings.WEBHOOK_TIMEOUT_SECONDS))
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        # A client per attempt: pooled connections are keyed by address, and one opened for
        # another host name (another TLS server name) must never be reused.
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            with client.stream("POST", target, content=body, headers=headers, extensions=extensions) as response:
                status = response.status_code
                retry_after = _retry_after(response.headers.get("Retry-After"))
    except httpx.TimeoutException as exc:
        return done(error=f"timed out ({type(exc).__name__})")
    except httpx.ConnectError as exc:
        certificate = "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper()
        return done(error=f"cannot connect: {exc}", permanent=certificate)
    except httpx.HTTPError as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return done(ok=True, status=status)
    if 300 <= status < 400:
        return done(status=status, error=f"HTTP {status}: redirects are not followed", permanent=True)
    return done(status=status, error=f"HTTP {status}", permanent=status not in TRANSIENT_STATUSES,
                retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
