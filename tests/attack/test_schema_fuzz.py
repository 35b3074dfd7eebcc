"""Schemathesis against our own OpenAPI schema (/api/schema/), as each role: every operation
with generated valid and invalid input, checking that no answer is a server error and that no
documented answer breaks the schema (its status, content type and body).

Bounded: ATTACK_EXAMPLES examples per operation, mode and role (default 4), through the WSGI
application in this process, on a small world of real data (tests/attack/world.py).
"""

import contextlib
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.attack.conftest import ROLES, tally
from tests.attack.world import build_world
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ATTACK_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations that end the caller's own session: fuzzing them would log the fuzzer out.
SKIPPED = {("DELETE", "/api/v1/auth/token/")}


@pytest.fixture
def schema(db):
    import schemathesis
    from django.core.wsgi import get_wsgi_application

    with connection_kept():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@contextlib.contextmanager
def connection_kept():
    """A request through the WSGI application, as Django's test client makes one: without
    closing the database connection at its start and end, for it holds the test's transaction
    (on PostgreSQL; SQLite in memory is never closed). The client reconnects the signal after
    each of its own requests, so this wraps every call."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_no_answer_outside_the_schema(role, schema, db, credentials, caller, django_settings):
    django_settings.WEBHOOK_ALLOW_PRIVATE = True
    build_world(credentials)
    # A Dongguan caller, so both its own data and Shenzhen's are in play.
    token = caller(role, DONGGUAN if role != "coordinator" else SHENZHEN)
    headers = {"Authorization": f"Bearer {token}"}
    tried, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # no invalid input can be generated for this operation
                continue

            examples(strategy, f"{role} {operation.method.upper()} {operation.path} ({mode})", headers,
                     tried, failures)
    tally(f"schemathesis as {role}", cases=len(tried), failures=len(failures))
    assert failures == [], "\n".join(failures[:15])


@pytest.fixture
def django_settings(settings):
    return settings


def examples(strategy, label: str, headers: dict, tried: list, failures: list) -> None:
    """Up to EXAMPLES cases of one operation and mode, each sent and checked; every failure is
    kept (the run goes on), so the figures count them all."""

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        tried.append(label)
        with connection_kept():
            response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises failures as a group
            failures.append(f"{label}: {response.status_code} {type(exc).__name__}: {str(exc)[:600]}")

    run()
