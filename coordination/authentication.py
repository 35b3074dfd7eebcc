"""Who is calling: bearer tokens (API clients and officers) and officers' web sessions.

Both end in a Principal. The HTTP API, the websocket stream and the web UI all come through
`principal_for_token` / `principal_for_user`, so the rules for a valid credential live here once.
"""

import hashlib
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from coordination.audit import audit_record
from coordination.models import AccessToken, Jurisdiction, Membership
from coordination.principals import Principal
from coordination.registry import registry

# A process-local cache (the registry facts come from the registry snapshot,
# coordination.registry). A token's principal is kept for TOKEN_CACHE_SECONDS, so revoking it
# takes effect at once in the process that revoked it (forget_token) and within that many
# seconds in the others; the stream re-checks its connections' tokens on the same clock.
_token_cache: dict[str, tuple[float, Principal, object]] = {}
_cache_lock = threading.Lock()
LAST_USED_RESOLUTION = timedelta(seconds=60)


def token_digest(raw: str) -> str:
    """What a token is stored and looked up by: its raw value is shown once and never kept."""
    return hashlib.sha256(raw.encode()).hexdigest()


def forget_token(digest: str) -> None:
    with _cache_lock:
        _token_cache.pop(digest, None)


def clusters_of(jurisdiction_code: str) -> tuple[str, ...]:
    """A jurisdiction's clusters, sorted, from the registry snapshot; for a jurisdiction registered
    after the snapshot was taken (its process sees the edit at the next reload), from the table."""
    snapshot = registry()
    if jurisdiction_code in snapshot.jurisdictions:
        return tuple(sorted(snapshot.clusters_of.get(jurisdiction_code, ())))
    return tuple(
        sorted(
            Jurisdiction.clusters.through.objects.filter(jurisdiction_id=jurisdiction_code).values_list(
                "cluster_id", flat=True
            )
        )
    )


def principal_for_user(user, *, token_id: int | None = None) -> Principal | None:
    """The officer behind a Django user, or None for a user who is not an officer."""
    try:
        membership = user.membership
    except Membership.DoesNotExist:
        return None
    return Principal(
        kind="officer",
        label=user.get_username(),
        jurisdiction=membership.jurisdiction_id,
        clusters=clusters_of(membership.jurisdiction_id),
        role=membership.role,
        user_id=user.pk,
        token_id=token_id,
    )


def _principal_for_token_row(token: AccessToken) -> Principal | None:
    if token.client_id:
        client = token.client
        return Principal(
            kind="client",
            label=client.name,
            jurisdiction=client.jurisdiction_id,
            clusters=clusters_of(client.jurisdiction_id),
            scopes=tuple(client.scopes),
            client_id=client.pk,
            token_id=token.pk,
        )
    if not token.user.is_active:
        return None
    return principal_for_user(token.user, token_id=token.pk)


def principal_for_token(raw: str) -> Principal | None:
    """The principal a bearer token stands for, or None if it is unknown, expired or revoked."""
    digest = token_digest(raw)
    now = time.monotonic()
    hit = _token_cache.get(digest)
    if hit and now - hit[0] < settings.TOKEN_CACHE_SECONDS:
        principal, expires_at = hit[1], hit[2]
        if expires_at is None or expires_at > timezone.now():
            return principal
    token = (
        AccessToken.objects.select_related("client", "user__membership")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        forget_token(digest)
        return None
    principal = _principal_for_token_row(token)
    if principal is None:
        return None
    _note_use(token)
    with _cache_lock:
        _token_cache[digest] = (now, principal, token.expires_at)
    return principal


def token_still_valid(token_id: int) -> bool:
    """For long-lived connections: is the token they opened with still good?"""
    return AccessToken.objects.filter(
        pk=token_id, revoked_at__isnull=True
    ).exclude(expires_at__lte=timezone.now()).exists()


def _note_use(token: AccessToken) -> None:
    """Record last use, at most once a minute per token, so reads stay reads."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        with transaction.atomic():
            AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)


def client_ip(request) -> str | None:
    """The caller's address, for the audit and every rate limit (coordination.throttling): the
    connection's, or behind a proxy we trust (TRUST_X_FORWARDED_FOR) the one it saw, which it
    appended last to X-Forwarded-For. Entries before it are whatever the client sent: taking
    the first let a guesser pick a fresh address, and a fresh rate limit, per request."""
    return _client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def scope_client_ip(scope) -> str | None:
    """The same for a websocket handshake (an ASGI scope)."""
    headers = dict(scope.get("headers", []))
    return _client_address((scope.get("client") or [None])[0],
                           headers.get(b"x-forwarded-for", b"").decode("latin-1"))


def _client_address(connection: str | None, forwarded: str) -> str | None:
    if settings.TRUST_X_FORWARDED_FOR and forwarded:
        return forwarded.split(",")[-1].strip() or None
    return connection or None


def _count_bad_credentials(ip: str | None) -> None:
    """Token guessing is rate limited per address and every failure audited."""
    key = f"bad-credentials:{ip}"
    limit, period = _parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["bad_credentials"])
    cache.add(key, 0, period)
    try:
        failures = cache.incr(key)
    except ValueError:
        cache.set(key, 1, period)
        failures = 1
    if failures > limit:
        raise exceptions.Throttled(wait=period, detail="Too many bad credentials from this address.")
    with transaction.atomic():
        audit_record(actor=None, action="auth.bad_token", detail={"ip": ip})


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


MAX_TOKEN_LENGTH = 200


def principal_for_bearer(header: str, *, ip: str | None) -> Principal | None:
    """The principal of an Authorization header value; None when it is not a bearer header.

    One reading of the header for the HTTP API and the websocket handshake, so both count and
    audit bad tokens per address the same way. Raises AuthenticationFailed for a malformed,
    unknown, expired or revoked token, and Throttled once an address has guessed too often.
    """
    parts = header.split()
    if not parts or parts[0].lower() != "bearer":
        return None
    if len(parts) != 2 or not parts[1].isascii() or len(parts[1]) > MAX_TOKEN_LENGTH:
        _count_bad_credentials(ip)
        raise exceptions.AuthenticationFailed("Malformed Authorization header; use 'Bearer <token>'.")
    principal = principal_for_token(parts[1])
    if principal is None:
        _count_bad_credentials(ip)
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
    return principal.with_ip(ip)


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` for API clients and officers' API tokens."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        principal = principal_for_bearer(header, ip=client_ip(request))
        if principal is None:
            return None
        return principal, header.split()[1]

    def authenticate_header(self, request):
        return 'Bearer realm="liandong"'


class OfficerSessionAuthentication(SessionAuthentication):
    """The web UI's session, for officers; CSRF-checked like any session write."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        principal = principal_for_user(result[0])
        if principal is None:
            return None
        return principal.with_ip(client_ip(request)), None
