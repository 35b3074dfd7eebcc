"""Times no database takes: an offset of ±16:00 or more (PostgreSQL refuses it), an instant
before year 1 or after 9999 once in UTC (SQLite's adapter cannot convert it). Every datetime
filter of every list endpoint and every date-time of every JSON body answers 400 naming the
parameter, never 500 (config/times.py holds the rule)."""

import json
import re

import django_filters
import pytest
from django import forms
from django.test import Client
from django.urls import URLResolver, get_resolver

from tests.attack.conftest import tally
from tests.attack.world import build_world
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

HOSTILE_TIMES = [
    "2026-01-01T00:00:00-18:00",  # PostgreSQL: time zone displacement out of range
    "2026-01-01T00:00:00+16:00",
    "2026-01-01T00:00:00-14:01",  # beyond any real offset (and xs:dateTime's)
    "0001-01-01T00:00:00",  # year 0 in UTC, read in Asia/Shanghai
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
]
FINE = ["2026-01-01T00:00:00-12:00", "2026-01-01T00:00:00+14:00", "2026-01-01T08:30:00+08:00"]


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def datetime_filters() -> list[tuple[str, str]]:
    """(list URL, filter name) for every filter that reads a date-time, in every FilterSet of a
    list endpoint: a new one is covered as soon as it is declared."""
    found = []
    for route, pattern in _routes(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        filterset = getattr(view, "filterset_class", None)
        if filterset is None or (getattr(pattern.callback, "actions", None) or {}).get("get") != "list":
            continue
        if "(?P" in route:
            continue
        url = "/" + route.replace("^", "").replace("$", "")
        for name, filter_ in filterset.base_filters.items():
            if issubclass(filter_.field_class, forms.DateTimeField) or isinstance(
                    filter_, (django_filters.DateTimeFilter, django_filters.IsoDateTimeFilter)):
                found.append((url, name))
    return found


def test_the_datetime_filters_are_found():
    found = set(datetime_filters())
    # The ones the contract names, at least: the enumeration itself must not come back empty.
    assert {("/api/v1/incidents/", "updated_since"), ("/api/v1/alerts/", "sent_after"),
            ("/api/v1/inventories/", "updated_since"), ("/api/v1/resource-requests/", "updated_since"),
            ("/api/v1/meetings/", "after")} <= found, found


def callers(api_as) -> dict:
    """A city system and a coordinator of Shenzhen; a server error is an answer to count here,
    not an exception for the test client to raise."""
    made = {"api client": api_as(SHENZHEN), "coordinator": api_as(SHENZHEN, role="coordinator")}
    for client in made.values():
        client.raise_request_exception = False
    return made


def test_every_datetime_filter_refuses_a_time_no_database_takes_with_a_400_naming_it(api_as):
    clients = callers(api_as)
    cases, failures = 0, []
    for url, name in datetime_filters():
        for who, client in clients.items():
            for value in HOSTILE_TIMES:
                response = client.get(url, {name: value})
                cases += 1
                body = response.json() if response["Content-Type"].startswith("application/") else {}
                if response.status_code != 400 or name not in body.get("errors", {}) \
                        or body.get("status") != 400:
                    failures.append((who, url, name, value, response.status_code, response.content[:200]))
            for value in FINE:
                response = client.get(url, {name: value})
                cases += 1
                if response.status_code != 200:
                    failures.append((who, url, name, value, response.status_code, response.content[:200]))
    tally("hostile times (datetime filters)", cases=cases, failures=len(failures))
    assert failures == [], failures[:10]


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def body_datetimes() -> list[tuple[str, str, str]]:
    """(method, path, property) for every top-level date-time of a JSON request body."""
    schema = json.loads(Client().get("/api/schema/", {"format": "json"}).content)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if method not in ("post", "patch", "put") or "application/json" not in content:
                continue
            body = _resolve(schema, content["application/json"]["schema"])
            for name, prop in (body.get("properties") or {}).items():
                prop = _resolve(schema, prop)
                options = [prop, *(_resolve(schema, p) for p in prop.get("oneOf", []) + prop.get("allOf", []))]
                if any(option.get("format") == "date-time" for option in options) and not prop.get("readOnly"):
                    found.append((method.upper(), path, name))
    return found


def test_every_datetime_in_a_json_body_refuses_a_time_no_database_takes(credentials, api_as, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    world = build_world(credentials)
    clients = callers(api_as)
    # What the world lacks for a body with a date-time: an agreement and a joint command.
    coordinator = clients["coordinator"]
    agreement = coordinator.post("/api/v1/sharing-agreements/", {
        "grantor": SHENZHEN, "grantees": [DONGGUAN], "data_kinds": ["resources"]}, format="json")
    command = coordinator.post("/api/v1/joint-commands/", {"incident": world.private["incident"]}, format="json")
    assert agreement.status_code == 201 and command.status_code in (200, 201), (agreement.content, command.content)
    world.add("sharing-agreements", agreement.json()["id"])
    world.add("joint-commands", command.json()["id"])
    # And Shenzhen's duty roster (rosters are made by an administrator or load_demo, not the API).
    from coordination.duty.services import roster_ensure
    from coordination.models import Jurisdiction

    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(pk=SHENZHEN))
    world.add("rosters", roster.pk)
    cases, failures, exercised = 0, [], set()
    fields = body_datetimes()
    for method, path, name in fields:
        resource = re.match(r"^/api/v1/([a-z-]+)/", path).group(1)
        ids = world.ids.get(resource) or ["1"]
        url = re.sub(r"\{[a-z_]+\}", ids[0], path, count=1)
        url = re.sub(r"\{[a-z_]+\}", "1", url)
        for who, client in clients.items():
            for value in HOSTILE_TIMES:
                response = client.generic(method, url, json.dumps({name: value}), content_type="application/json")
                cases += 1
                if response.status_code >= 500:
                    failures.append((who, method, url, name, value, response.status_code))
                elif response.status_code == 400 and name in response.json().get("errors", {}):
                    exercised.add((method, path, name))
                elif response.status_code not in (403, 404, 405):
                    failures.append((who, method, url, name, value, response.status_code, response.content[:200]))
    # Every field was reached by one caller or another (else the test proved nothing about it).
    missed = sorted(set(fields) - exercised)
    tally("hostile times (JSON bodies)", cases=cases, failures=len(failures) + len(missed))
    assert fields and failures == [] and missed == [], (failures[:10], missed)


def test_the_web_forms_refuse_a_time_no_database_takes_next_to_its_field(make_officer):
    """The web form's own reading (config.times.InstantFormField): what an officer types, or a
    hand-made post, is answered on the form, not with a 500."""
    from incidents.models import Incident

    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.raise_request_exception = False
    browser.force_login(make_officer("time-typist", SHENZHEN, "operator"))
    cases, failures = 0, []
    for value in HOSTILE_TIMES:
        response = browser.post("/incidents/new/", {
            "title": "Hand-made time", "category": "natural_disaster", "type": "flood", "level": "IV",
            "occurred_at": value, "area_kind": "point", "lat": "22.65", "lon": "114.12"})
        cases += 1
        page = response.content.decode("utf-8", "replace")
        if response.status_code != 400 or "UTC offset is between -14:00 and +14:00" not in page:
            failures.append((value, response.status_code))
    if Incident.objects.exists():
        failures.append("an incident was reported")
    tally("hostile times (web forms)", cases=cases, failures=len(failures))
    assert failures == [], failures
