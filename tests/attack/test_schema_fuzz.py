"""Schemathesis against the OpenAPI document we serve (/api/schema/), as each role: every
operation with generated valid and invalid input, under every check schemathesis has (no server
error; no status, content type, body or header the document does not give for the operation;
valid input accepted, invalid input refused; credentials enforced), so the document is the
truth about the API (docs/schema.md).

Each operation is tried with generated path parameters (which name nothing: 404) and, where the
world holds one, with the id of a real object, so the answers past the 404 are checked too.

Bounded: ATTACK_EXAMPLES examples per operation, mode and role (default 3), through the WSGI
application in this process, on a small world of real data (tests/attack/world.py). The run
fails if it tried fewer operations than the document has, or fewer cases than MIN_CASES.
"""

import contextlib
import os
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import negative_data_rejection
from schemathesis.generation.modes import GenerationMode

from tests.attack.conftest import ROLES, tally
from tests.attack.world import build_world
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ATTACK_EXAMPLES", "3"))
# Operations that end the caller's own session: fuzzing them would log the fuzzer out.
SKIPPED = {("DELETE", "/api/v1/auth/token/")}
# A bulk report answers a bad item in its results, beside the good ones (200), by design
# (docs/api.md, "Incidents"): invalid items are not refused with a 4xx for the whole request.
ITEM_BY_ITEM = {("POST", "/api/v1/incidents/bulk/"): [negative_data_rejection]}
# Valid input may still be a 400: the document states the shape of input, not the rules that
# depend on data (a jurisdiction or resource type that exists, a location inside the caller's
# cluster, a quantity no larger than what is still needed). A 400 for valid input must not name
# an unknown field, though: which fields a body takes is the document's to say.
ACCEPTED_FOR_VALID_INPUT = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
# The document has over 90 operations; fewer than this means paths went missing from it.
MIN_OPERATIONS = 85
# Per role: at least one case for every operation and mode, and the real-id runs on top.
MIN_CASES = 2 * MIN_OPERATIONS


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
    each of its own requests, so this wraps every call, the checks' own probes included."""
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
    # The ignored_auth check repeats requests without and with bad credentials, one address for
    # all: past the real limit they would be 429s (as they should), which proves nothing about
    # authentication. The limit itself is tested in tests/coordination/test_throttling.py.
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    django_settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "bad_credentials": "100000/min"},
    }
    world = build_world(credentials)
    schema.config.checks.positive_data_acceptance.expected_statuses = ACCEPTED_FOR_VALID_INPUT
    # A Dongguan caller, so both its own data and Shenzhen's are in play.
    token = caller(role, DONGGUAN if role != "coordinator" else SHENZHEN)
    headers = {"Authorization": f"Bearer {token}"}
    tried, failures, operations = [], [], set()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations.add(label)
        runs = [(mode, None) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        real = real_path_parameters(world, operation.path)
        if real:
            runs.append((GenerationMode.POSITIVE, real))
        for mode, path_parameters in runs:
            try:
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            except Exception:  # no invalid input can be generated for this operation
                continue
            name = f"{role} {label} ({mode.value}{', real ids' if path_parameters else ''})"
            excluded = ITEM_BY_ITEM.get((operation.method.upper(), operation.path), [])
            examples(strategy, name, headers, tried, failures, excluded=excluded,
                     positive=mode == GenerationMode.POSITIVE)
    tally(f"schemathesis as {role}", cases=len(tried), failures=len(failures))
    assert len(operations) >= MIN_OPERATIONS, sorted(operations)
    assert {label.split(" (")[0].removeprefix(f"{role} ") for label in tried} == operations
    assert len(tried) >= MIN_CASES, len(tried)
    assert failures == [], f"{len(failures)} failures:\n" + "\n".join(failures[:15])


# The world's collections, by the path segment that names them.
PATH_OBJECT = re.compile(r"^/api/v1/(?P<collection>[a-z-]+)/\{(?P<name>[a-z_]+)\}/")


def real_path_parameters(world, path: str) -> dict | None:
    """The path parameters of `path` naming a real object of the world, or None."""
    match = PATH_OBJECT.match(path)
    if not match or path.count("{") != 1:
        return None
    ids = world.ids.get(match["collection"])
    return {match["name"]: ids[0]} if ids else None


@pytest.fixture
def django_settings(settings):
    return settings


def examples(strategy, label: str, headers: dict, tried: list, failures: list, *, excluded: list,
             positive: bool) -> None:
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
                # Every check schemathesis has, their probes through this application.
                case.validate_response(response, headers=headers, excluded_checks=excluded)
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises failures as a group
                failures.append(f"{label}: {response.status_code} {type(exc).__name__}: {str(exc)[:600]}")
        if positive and response.status_code == 400:
            unknown = sorted(field for field, messages in response.json().get("errors", {}).items()
                             if "Unknown field." in messages)
            if unknown:
                failures.append(f"{label}: 400 for fields the document allows: {unknown}")

    run()
