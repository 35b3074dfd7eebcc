"""Every endpoint, the event log, the stream and the UI, tried by every other jurisdiction with
the ids of what it may not see: nothing leaks, and the answer is the one a non-existent id
gets (404, never a 403 that would say "it exists"), whatever the method.

The rule checked is an oracle, not a table: for a caller that gets 404 on an object's detail,
every path naming that object must answer exactly as for an id that does not exist, and no
list, event or page may carry it. Objects that only Shenzhen may see (its level IV incident
inside the city, a draft alert, its webhook subscription) must be a 404 for everyone else.
"""

import json
import re
import uuid

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.attack.conftest import tally
from tests.attack.world import SECRET_DETAIL, SECRET_TITLE, build_world
from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, SHENZHEN

pytestmark = [pytest.mark.attack]

# Paths under these name public catalogue entries by code, not anybody's data.
PUBLIC = ("clusters", "jurisdictions", "resource-types", "playbooks", "incident-categories")


def schema_paths() -> dict[str, list[str]]:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    return {path: [method.upper() for method in ops if method in ("get", "post", "patch", "put", "delete")]
            for path, ops in paths.items()}


def like(value: str) -> str:
    """An id of the same shape that names nothing."""
    try:
        uuid.UUID(value)
        return str(uuid.uuid4())
    except ValueError:
        pass
    if value.isdigit():
        return str(10 ** 9 + int(value))
    return re.sub(r"\d", "9", value)


def call(client: APIClient, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return getattr(client, method.lower())(path, {}, format="json")


def leaks(response, secrets: list[str], *, echo: str = "") -> bool:
    """A secret in the body, other than the caller's own request echoed back (`instance`)."""
    body = response.content.decode("utf-8", "replace")
    if echo:
        body = body.replace(echo, "")
    return any(secret in body for secret in secrets)


@pytest.fixture
def world(db, credentials):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    try:
        yield build_world(credentials)
    finally:
        settings.WEBHOOK_ALLOW_PRIVATE = False


def test_no_endpoint_reveals_what_another_jurisdiction_may_not_see(world, credentials):
    paths = schema_paths()
    # The incident's public id is not among them: a mutual-aid request names its incident to
    # the jurisdictions it asks, by design; the incident itself stays a 404 for them (below).
    secrets = [SECRET_TITLE, SECRET_DETAIL, world.private["alert"], world.private["webhook-subscription"]]
    callers = [(code, "api client", credentials.token(code)) for code in GBA_CODES if code != SHENZHEN]
    callers += [(DONGGUAN, role, credentials.token(DONGGUAN, role=role)) for role in ("viewer", "commander")]
    cases, failures = 0, []
    for code, kind, token in callers:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        who = f"{code} {kind}"
        # Lists, filtered every way that could name the owner, and the event log.
        for path, methods in paths.items():
            if "{" in path or "GET" not in methods:
                continue
            for query in ("", f"?jurisdiction={SHENZHEN}", f"?owner={SHENZHEN}",
                          f"?incident={world.private['incident']}", "?since=0&limit=1000"):
                response = client.get(path + query)
                cases += 1
                if response.status_code >= 500 or leaks(response, secrets):
                    failures.append((who, "GET", path + query, response.status_code))
        # Every path naming an object the caller may not see answers as for no object at all.
        for path, methods in paths.items():
            match = re.match(r"^/api/v1/([a-z-]+)/\{[a-z_]+\}/", path)
            if match is None or match.group(1) in PUBLIC:
                continue
            for object_id in world.ids.get(match.group(1), []):
                detail = client.get(f"/api/v1/{match.group(1)}/{object_id}/")
                if detail.status_code == 200:
                    if object_id in world.private.values():
                        failures.append((who, "GET", f"{match.group(1)}/{object_id} is private", 200))
                    continue
                for method in methods:
                    real = re.sub(r"\{[a-z_]+\}", object_id, path, count=1)
                    fake = re.sub(r"\{[a-z_]+\}", like(object_id), path, count=1)
                    real, fake = (re.sub(r"\{[a-z_]+\}", "1", p) for p in (real, fake))
                    got, expected = call(client, method, real), call(client, method, fake)
                    cases += 1
                    if got.status_code != expected.status_code or leaks(got, secrets, echo=object_id) \
                            or got.status_code == 403 \
                            and expected.status_code != 403:
                        failures.append((who, method, real, got.status_code, expected.status_code))
    tally("cross-jurisdiction probe (API)", cases=cases, failures=len(failures))
    assert failures == [], failures[:20]


@pytest.mark.django_db(transaction=True)
async def test_the_stream_replays_nothing_another_jurisdiction_may_not_see(credentials, settings):
    from channels.db import database_sync_to_async

    from config.asgi import application
    from sharing.stream import hub as hub_module
    from tests.stream.conftest import WebsocketCommunicator

    settings.WEBHOOK_ALLOW_PRIVATE = True
    world = await database_sync_to_async(build_world)(credentials)
    await database_sync_to_async(__import__("sharing.eventlog", fromlist=["x"]).sequence_pending)()
    secrets = [SECRET_TITLE, SECRET_DETAIL, world.private["alert"], world.private["webhook-subscription"]]
    cases, failures = 0, []
    try:
        for code in [c for c in GBA_CODES if c != SHENZHEN]:
            token = await database_sync_to_async(credentials.token)(code)
            ws = WebsocketCommunicator(application, "/ws/v1/stream/?since=0",
                                       headers=[(b"authorization", f"Bearer {token}".encode())])
            connected, _ = await ws.connect(timeout=5)
            assert connected
            hello = await ws.receive_json_from(timeout=5)
            assert hello["type"] == "hello" and hello["seq"] > 0
            while True:
                try:
                    message = await ws.receive_json_from(timeout=1)
                except TimeoutError:
                    break
                cases += 1
                if any(secret in json.dumps(message, ensure_ascii=False) for secret in secrets):
                    failures.append((code, message.get("event"), message.get("seq")))
            # (The communicator ends the connection itself when a receive times out.)
        # The owner does get them: the probe would see a leak if there were one.
        ws = WebsocketCommunicator(application, "/ws/v1/stream/?since=0",
                                   headers=[(b"authorization", f"Bearer {world.owner_token}".encode())])
        assert (await ws.connect(timeout=5))[0]
        await ws.receive_json_from(timeout=5)
        own = []
        while True:
            try:
                own.append(await ws.receive_json_from(timeout=1))
            except TimeoutError:
                break
        assert any(SECRET_TITLE in json.dumps(m, ensure_ascii=False) for m in own)
    finally:
        hub = hub_module.current_hub()
        if hub is not None and not hub.loop.is_closed():
            await hub.stop()
        hub_module._hub = None
        settings.WEBHOOK_ALLOW_PRIVATE = False
    tally("cross-jurisdiction probe (stream)", cases=cases, failures=len(failures))
    assert failures == []


def test_the_web_ui_shows_nothing_another_jurisdiction_may_not_see(world, make_officer):
    cases, failures = 0, []
    for code in (DONGGUAN, HONG_KONG):
        officer = make_officer(f"probe-{code}", code, "commander")
        browser = Client()
        browser.force_login(officer)
        for path in (f"/incidents/{world.private['incident']}/", f"/alerts/{world.private['alert']}/"):
            response = browser.get(path)
            cases += 1
            if response.status_code != 404 or leaks(response, [SECRET_TITLE, SECRET_DETAIL]):
                failures.append((code, path, response.status_code))
        for path in ("/", "/incidents/", "/resources/", "/alerts/", "/command/",
                     f"/incidents/?jurisdiction={SHENZHEN}"):
            response = browser.get(path)
            cases += 1
            # (The mutual-aid board and the feed may name the incident's id: the request does.)
            if response.status_code != 200 or leaks(response, [SECRET_TITLE, SECRET_DETAIL]):
                failures.append((code, path, response.status_code))
    tally("cross-jurisdiction probe (web UI)", cases=cases, failures=len(failures))
    assert failures == []
