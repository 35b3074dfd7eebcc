"""Helpers shared by the sharing-agreement and mutual-aid tests (imported, not a conftest, so
tests/sharing can use them too).

`fast_token` issues real bearer tokens through the real authentication path but without the
password hashing of the login service: the visibility matrix needs dozens of callers.
"""

import itertools
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from coordination.authentication import principal_for_token, token_digest
from coordination.models import AccessToken, ApiClient, Membership
from coordination.roles import ALL_SCOPES
from coordination.services import TOKEN_PREFIX
from sharing.models import Event

_serial = itertools.count(1)


def fast_token(jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None) -> str:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(24)
    n = next(_serial)
    if role:
        user = get_user_model().objects.create(username=f"t-{role}-{jurisdiction}-{n}")
        Membership.objects.create(user=user, jurisdiction_id=jurisdiction, role=role)
        AccessToken.objects.create(digest=token_digest(raw), prefix=raw[:9], user=user,
                                   expires_at=timezone.now() + timedelta(hours=1))
    else:
        client = ApiClient.objects.create(name=f"t-system-{n}", jurisdiction_id=jurisdiction,
                                          scopes=list(ALL_SCOPES if scopes is None else scopes))
        AccessToken.objects.create(digest=token_digest(raw), prefix=raw[:9], client=client)
    return raw


def client_for(jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {fast_token(jurisdiction, role=role, scopes=scopes)}")
    return client


def principal(jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None):
    return principal_for_token(fast_token(jurisdiction, role=role, scopes=scopes)).with_ip("127.0.0.1")


def events_named(name: str, **filters) -> list[Event]:
    return list(Event.objects.filter(name=name, **filters).order_by("id"))
