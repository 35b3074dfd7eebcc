"""Shared fixtures: the demo registry, personas, API clients, and the real services.

Tests run against PostgreSQL and Redis when the test command found them (it sets
DATABASE_URL and REDIS_URL); otherwise against SQLite and in-memory layers, with the tests that
need a real service skipped. Under REQUIRE_SERVICES=1 (CI) a missing service fails the run.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_configure(config):
    # Tests render templates without running collectstatic first: no manifest to look up.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if not REQUIRE_SERVICES:
        return
    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append("DATABASE_URL is not PostgreSQL")
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    elif not _reachable(settings.REDIS_URL, 6379):
        problems.append(f"Redis at {settings.REDIS_URL} does not answer")
    if problems:
        pytest.exit("REQUIRE_SERVICES=1 but " + "; ".join(problems), returncode=3)


def _need(what: str, available: bool) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available; run the test command where it answers")


@pytest.fixture
def postgres():
    """Marks a test that needs PostgreSQL (concurrency, constraints under real transactions)."""
    _need("PostgreSQL", settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql")


@pytest.fixture
def redis_url():
    _need("Redis", bool(settings.REDIS_URL) and _reachable(settings.REDIS_URL, 6379))
    return settings.REDIS_URL


@pytest.fixture(autouse=True)
def _fast_passwords(request, settings):
    """Officers are made by the dozen in the tests, and the production hash (PBKDF2, a million
    rounds: up to 2 s each on a loaded 2-core machine) buys them nothing. The browser tests keep
    the real one: their server processes, with the production settings, check the passwords."""
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with empty caches: throttles, tokens, the registry snapshot and the
    sharing agreements."""
    from django.core.cache import cache

    from coordination import authentication
    from coordination.registry import reset_registry
    from sharing.visibility import reset_sharing_context

    cache.clear()
    authentication._token_cache.clear()
    reset_registry()
    reset_sharing_context()
    yield
    reset_registry()
    reset_sharing_context()


@pytest.fixture
def gba(db):
    """The demo registry (GBA and the national clusters), loaded once per database state."""
    from coordination.demo import load_registry
    from coordination.models import Cluster

    if not Cluster.objects.filter(code="GBA").exists():
        load_registry()
    return Cluster.objects.get(code="GBA")


# --- personas: officers and city systems in named jurisdictions ----------------------------------

SHENZHEN, DONGGUAN, HUIZHOU, GUANGZHOU, ZHUHAI, ZHONGSHAN, JIANGMEN = (
    "440300", "441900", "441300", "440100", "440400", "442000", "440700",
)
FOSHAN, ZHAOQING, HONG_KONG, MACAO = "440600", "441200", "810000", "820000"
GBA_CODES = [GUANGZHOU, SHENZHEN, ZHUHAI, FOSHAN, JIANGMEN, ZHAOQING, HUIZHOU, DONGGUAN, ZHONGSHAN, HONG_KONG, MACAO]


@pytest.fixture
def make_officer(gba):
    from coordination.services import officer_create

    def make(username: str, jurisdiction: str, role: str = "operator"):
        user, _ = officer_create(username=username, jurisdiction_code=jurisdiction, role=role, password="pw-Secret-123")
        return user

    return make


class Credentials:
    """Issues real tokens: for city systems (API clients) or officers of a role."""

    def __init__(self):
        self.count = 0

    def token(self, jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None) -> str:
        from coordination.services import api_client_create, officer_create, officer_token_issue

        self.count += 1
        if role:
            username = f"{role}-{jurisdiction}-{self.count}"
            officer_create(username=username, jurisdiction_code=jurisdiction, role=role, password="pw-Secret-123")
            raw, _ = officer_token_issue(username=username, password="pw-Secret-123", ip="127.0.0.1")
            return raw
        _, raw = api_client_create(name=f"system-{jurisdiction}-{self.count}", jurisdiction_code=jurisdiction,
                                   scopes=scopes)
        return raw


@pytest.fixture
def credentials(gba):
    return Credentials()


@pytest.fixture
def principal_for(credentials):
    """A Principal as the API would build it, for calling services directly."""
    from coordination.authentication import principal_for_token

    def make(jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None):
        return principal_for_token(credentials.token(jurisdiction, role=role, scopes=scopes)).with_ip("127.0.0.1")

    return make


@pytest.fixture
def api_as(credentials):
    """An APIClient authenticated with a bearer token.

    api_as("440300") is a city system of Shenzhen with every scope;
    api_as("440300", scopes=["read"]) one with only those; api_as("440300", role="viewer")
    an officer of that role (its token from the login service).
    """

    def make(jurisdiction: str, *, role: str | None = None, scopes: list[str] | None = None) -> APIClient:
        raw = credentials.token(jurisdiction, role=role, scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.token = raw
        return client

    return make


@pytest.fixture
def anonymous():
    return APIClient()
