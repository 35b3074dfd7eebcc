"""Writes to the cluster registry: officers, API clients and their tokens, boundaries, each one
audited (coordination.audit)."""

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import shapely
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.utils import timezone

from config.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.authentication import forget_token, token_digest
from coordination.geometry import GeometryError, boundary_index, polygon_from_geojson
from coordination.models import (
    AccessToken,
    ApiClient,
    BoundarySource,
    Jurisdiction,
    Membership,
    Role,
)
from coordination.principals import Principal
from coordination.roles import ALL_SCOPES

TOKEN_PREFIX = "ld_"


# --- tokens ---------------------------------------------------------------------------------


def _token_new() -> tuple[str, str, str]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, token_digest(raw), raw[: len(TOKEN_PREFIX) + 6]


def _jurisdiction(code: str) -> Jurisdiction:
    try:
        return Jurisdiction.objects.get(code=code)
    except Jurisdiction.DoesNotExist:
        raise ValidationFailed.on("jurisdiction", f"Unknown jurisdiction code {code!r}.") from None


def api_client_create(
    *, name: str, jurisdiction_code: str, scopes: list[str] | None = None, actor: Principal | None = None
) -> tuple[ApiClient, str]:
    """A city system's credential. Returns the client and its token, which is never shown again."""
    scopes = list(ALL_SCOPES if scopes is None else scopes)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationFailed.on("scopes", f"Unknown scopes {unknown}; known: {ALL_SCOPES}.")
    if not scopes:
        raise ValidationFailed.on("scopes", "At least one scope is needed.")
    if not name.strip():
        raise ValidationFailed.on("name", "A name is needed.")
    jurisdiction = _jurisdiction(jurisdiction_code)
    with transaction.atomic():
        if ApiClient.objects.filter(jurisdiction=jurisdiction, name=name).exists():
            raise ValidationFailed.on("name", f"{jurisdiction.code} already has an API client named {name!r}.")
        client = ApiClient.objects.create(name=name, jurisdiction=jurisdiction, scopes=scopes)
        raw = api_client_token_issue(client=client, actor=actor)
    return client, raw


def api_client_token_issue(*, client: ApiClient, actor: Principal | None = None) -> str:
    """A new token for a client (rotation: issue, switch the city system over, revoke the old)."""
    raw, digest, prefix = _token_new()
    with transaction.atomic():
        token = AccessToken.objects.create(digest=digest, prefix=prefix, client=client)
        audit_record(
            actor=actor, action="api_client.token_issued", object_type="access_token", object_id=str(token.pk),
            object_jurisdiction=client.jurisdiction_id, detail={"client": client.name, "prefix": prefix},
        )
    return raw


def token_revoke(*, token: AccessToken, actor: Principal | None = None) -> bool:
    """Revoke a token. Returns False when it already was."""
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            audit_record(
                actor=actor, action="access_token.revoked", object_type="access_token", object_id=str(token.pk),
                detail={"prefix": token.prefix},
            )
    forget_token(token.digest)
    return bool(updated)


def officer_logout(*, actor: Principal) -> bool:
    """DELETE /api/v1/auth/token/: an officer ends the API token it calls with. Returns False
    for a call without one (a web session: it logs out at /logout/).

    Officers only. An API client's tokens are a city system's credential, issued and revoked
    by the deployment's administrators (docs/tokens.md): a client that ended its own token would
    cut the city system off with no way back in, and one that read "logout" as "rotate" would
    find no new token here."""
    if actor.kind != "officer":
        raise PermissionDenied("This endpoint logs officers out. An API client's tokens are issued and revoked "
                               "by the deployment's administrators.")
    if actor.token_id is None:
        return False
    return token_revoke(token=AccessToken.objects.get(pk=actor.token_id), actor=actor)

def officer_create(
    *, username: str, jurisdiction_code: str, role: str, password: str | None = None, email: str = ""
) -> tuple[object, str]:
    """An officer: a user with a membership. Returns the user and the password (generated if not given)."""
    if role not in Role.values:
        raise ValidationFailed.on("role", f"Unknown role {role!r}; one of {', '.join(Role.values)}.")
    jurisdiction = _jurisdiction(jurisdiction_code)
    User = get_user_model()
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, defaults={"jurisdiction": jurisdiction, "role": role})
        audit_record(
            actor=None, action="officer.created" if created else "officer.updated", object_type="user",
            object_id=str(user.pk), object_jurisdiction=jurisdiction.code, detail={"username": username, "role": role},
        )
    return user, password


def officer_token_issue(*, username: str, password: str, ip: str | None) -> tuple[str, object]:
    """Log an officer in for the API: a token acting with the officer's jurisdiction and role."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        with transaction.atomic():
            audit_record(actor=None, action="auth.login_failed", detail={"username": username[:150], "ip": ip})
        raise AuthenticationFailed("Wrong username or password.")
    if not Membership.objects.filter(user=user).exists():
        raise PermissionDenied("This user is not an officer of any jurisdiction.")
    raw, digest, prefix = _token_new()
    expires_at = timezone.now() + timedelta(hours=settings.OFFICER_TOKEN_TTL_HOURS)
    with transaction.atomic():
        token = AccessToken.objects.create(digest=digest, prefix=prefix, user=user, expires_at=expires_at)
        audit_record(
            actor=None, action="auth.token_issued", object_type="access_token", object_id=str(token.pk),
            detail={"username": user.get_username(), "ip": ip},
        )
    return raw, expires_at


def officer_tokens_revoke(*, user_id: int, actor: Principal | None = None) -> int:
    """Log an officer out everywhere: every token they hold stops working."""
    tokens = list(AccessToken.objects.filter(user_id=user_id, revoked_at__isnull=True))
    for token in tokens:
        token_revoke(token=token, actor=actor)
    return len(tokens)


# --- boundaries -----------------------------------------------------------------------------


@dataclass
class BoundaryImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (feature index, reason)


CODE_PROPERTIES = ("code", "adcode", "gb2260", "GB2260", "ADCODE")


def boundaries_import(
    *, features: Iterable[dict], actor: Principal | None = None, on_progress: Callable[[], None] | None = None
) -> BoundaryImportReport:
    """Replace jurisdiction boundaries from GeoJSON features, one feature at a time.

    Each feature names its jurisdiction by a GB/T 2260 code in its properties (`code`, or
    `adcode` as the common Chinese datasets spell it). A feature with an unknown code or a
    broken geometry is reported with its index and reason and skipped; the good ones land.
    """
    report = BoundaryImportReport()
    known = set(Jurisdiction.objects.values_list("code", flat=True))
    for index, feature in enumerate(features):
        try:
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise GeometryError("not a GeoJSON Feature")
            properties = feature.get("properties") or {}
            code = next((str(properties[key]) for key in CODE_PROPERTIES if properties.get(key)), None)
            if code is None:
                raise GeometryError("no GB/T 2260 code in properties (code or adcode)")
            if code not in known:
                raise GeometryError(f"unknown jurisdiction {code}")
            geometry = polygon_from_geojson(feature.get("geometry"), max_vertices=10_000_000)
        except GeometryError as exc:
            report.skipped.append((index, str(exc)))
        else:
            with transaction.atomic():
                Jurisdiction.objects.filter(code=code).update(
                    boundary=shapely_to_geojson(geometry),
                    boundary_source=BoundarySource.IMPORTED,
                    boundary_updated_at=timezone.now(),
                )
                audit_record(
                    actor=actor, action="jurisdiction.boundary_imported", object_type="jurisdiction",
                    object_id=code, object_jurisdiction=code,
                )
            report.imported.append(code)
        if on_progress:
            on_progress()
    boundary_index.invalidate()
    return report


def shapely_to_geojson(geometry) -> dict:
    return json.loads(shapely.to_geojson(geometry))
