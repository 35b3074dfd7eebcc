"""Hostile input: XML bombs and entities on the CAP import, oversized and deeply nested JSON on
every POST endpoint, token guessing, cross-site form posts, a websocket from a foreign origin,
and webhook URLs aimed at private addresses. Each refused as the contract says, none a 500."""

import json
import re
import time
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from coordination.models import AuditEntry
from tests.attack.conftest import tally
from tests.conftest import DONGGUAN, SHENZHEN, ZHUHAI

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

CAP = "urn:oasis:names:tc:emergency:cap:1.2"


def cap_alert(inner: str = "<identifier>x</identifier>") -> str:
    return f'<alert xmlns="{CAP}">{inner}</alert>'


HOSTILE_XML = {
    "internal DTD": f'<?xml version="1.0"?><!DOCTYPE alert [<!ELEMENT alert ANY>]>{cap_alert()}',
    "external entity (file)": ('<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                               + cap_alert("<identifier>&xxe;</identifier>")),
    "external entity (http)": ('<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM '
                               '"http://127.0.0.1:9/evil.dtd">]>' + cap_alert("<identifier>&xxe;</identifier>")),
    "parameter entity": ('<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
                         + cap_alert()),
    "external DTD": '<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">' + cap_alert(),
    "billion laughs": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                 for i in range(1, 10))
                       + "]>" + cap_alert("<identifier>&lol9;</identifier>")),
    "quadratic blowup": ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "' + "x" * 50_000 + '">]>'
                         + cap_alert("<identifier>" + "&a;" * 2000 + "</identifier>")),
    "XInclude": cap_alert('<identifier xmlns:xi="http://www.w3.org/2001/XInclude">'
                          '<xi:include href="file:///etc/passwd" parse="text"/></identifier>'),
    "deeply nested": cap_alert("<identifier>" + "<a>" * 100_000 + "</a>" * 100_000 + "</identifier>"),
    "not XML": "this is not xml <<<",
    "processing instruction": '<?xml version="1.0"?><?xml-stylesheet href="file:///etc/passwd"?>' + cap_alert(),
    "UTF-7 declaration": '<?xml version="1.0" encoding="UTF-7"?>+ADw-alert+AD4-',
}


@pytest.fixture
def importer(api_as):
    return api_as(ZHUHAI)


def test_hostile_xml_is_refused_without_being_expanded_or_fetched(importer):
    cases, failures = 0, []
    for name, document in HOSTILE_XML.items():
        for content_type in ("application/cap+xml", "application/xml"):
            started = time.monotonic()
            response = importer.generic("POST", "/api/v1/cap/", document.encode("utf-8"), content_type=content_type)
            elapsed = time.monotonic() - started
            cases += 1
            body = response.content.decode("utf-8", "replace")
            refused = response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
            if not refused or "root:" in body or "lollol" in body or elapsed > 5:
                failures.append((name, content_type, response.status_code, round(elapsed, 2), body[:200]))
            if name in ("internal DTD", "external entity (file)", "billion laughs", "parameter entity",
                        "external DTD", "quadratic blowup") and response.json().get("code") != "unsafe":
                failures.append((name, "code", response.json().get("code")))
    rejected = AuditEntry.objects.filter(action="alert.import_rejected").count()
    if rejected < cases:
        failures.append(("audited refusals", rejected, cases))
    tally("hostile XML (POST /api/v1/cap/)", cases=cases, failures=len(failures))
    assert failures == []


def test_an_oversized_cap_document_is_413(importer, settings):
    settings.CAP_MAX_BYTES = 4096
    document = cap_alert("<identifier>" + "x" * 10_000 + "</identifier>")
    response = importer.generic("POST", "/api/v1/cap/", document.encode(), content_type="application/cap+xml")
    tally("hostile XML (POST /api/v1/cap/)", cases=1, failures=int(response.status_code != 413))
    assert response.status_code == 413 and response.json()["status"] == 413


def post_paths() -> list[str]:
    paths = json.loads(Client().get("/api/schema/", {"format": "json"}).content)["paths"]
    return [path for path, ops in paths.items() if "post" in ops]


def concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", lambda m: "1" if m.group(0) == "{offer_id}" else "INC-2026-000001", path)


def test_oversized_and_deeply_nested_json_on_every_post_endpoint(api_as, settings):
    client = api_as(SHENZHEN)
    officer = api_as(SHENZHEN, role="coordinator")
    huge = json.dumps({"title": "x" * (max(settings.MAX_BODY_BYTES, settings.MAX_BULK_BODY_BYTES) + 10)})
    nested = "[" * 100_000 + "]" * 100_000
    nested_objects = '{"a":' * 50_000 + "1" + "}" * 50_000
    bodies = {"oversized": (huge, {413}), "nested arrays": (nested, {400, 413}),
              "nested objects": (nested_objects, {400, 413}), "not JSON": ("{'a': 1,}", {400, 415}),
              "NaN": ('{"quantity": NaN, "level": Infinity}', {400, 403, 404, 409, 415}),
              "huge number": ('{"quantity": 1' + "0" * 5000 + "}", {400, 403, 404, 409, 415})}
    cases, failures = 0, []
    for path in post_paths():
        url = concrete(path)
        for who in (client, officer):
            for name, (body, allowed) in bodies.items():
                content_type = "application/cap+xml" if path == "/api/v1/cap/" else "application/json"
                response = who.generic("POST", url, body.encode(), content_type=content_type)
                cases += 1
                if response.status_code >= 500 or (name in ("oversized", "nested arrays", "nested objects")
                                                   and response.status_code not in allowed | {401, 403, 404}):
                    failures.append((name, url, response.status_code, response.content[:150]))
                elif response.status_code >= 400 and not response["Content-Type"].startswith(
                        "application/problem+json"):
                    failures.append((name, url, response.status_code, "not problem details"))
    # A Content-Length that announces more than any endpoint takes is refused before reading.
    response = client.generic("POST", "/api/v1/incidents/", b"{}", content_type="application/json",
                              CONTENT_LENGTH=str(10 ** 12))
    cases += 1
    if response.status_code != 413:
        failures.append(("announced length", response.status_code))
    tally("oversized and nested JSON (every POST)", cases=cases, failures=len(failures))
    assert failures == [], failures[:10]


def test_token_guessing_is_rate_limited_and_audited(gba, settings, credentials):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "bad_credentials": "10/min"}}
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    answers = []
    for n in range(25):
        guesser.credentials(HTTP_AUTHORIZATION=f"Bearer ld_{uuid.uuid4().hex}{n}")
        response = guesser.get("/api/v1/incidents/")
        answers.append(response.status_code)
    audited = AuditEntry.objects.filter(action="auth.bad_token").count()
    limited = [code for code in answers if code == 429]
    # An honest caller from another address is unaffected; the guesser stays limited even with a
    # real token (the limit is the address's).
    honest = APIClient(REMOTE_ADDR="198.51.100.1")
    honest.credentials(HTTP_AUTHORIZATION=f"Bearer {credentials.token(DONGGUAN)}")
    failures = []
    if answers[:10] != [401] * 10 or len(limited) != 15:
        failures.append(("answers", answers))
    if audited < 10:
        failures.append(("audited", audited))
    if honest.get("/api/v1/incidents/").status_code != 200:
        failures.append("honest caller refused")
    retry_after = guesser.get("/api/v1/incidents/").get("Retry-After")
    if not retry_after:
        failures.append("no Retry-After")
    tally("token guessing", cases=len(answers) + 2, failures=len(failures))
    assert failures == []


def test_password_guessing_on_the_token_endpoint_is_rate_limited(gba, make_officer, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_login": "5/min"}}
    make_officer("guessed", SHENZHEN, "viewer")
    client = APIClient(REMOTE_ADDR="203.0.113.8")
    answers = [client.post("/api/v1/auth/token/", {"username": "guessed", "password": f"wrong-{n}"},
                           format="json").status_code for n in range(8)]
    failed = AuditEntry.objects.filter(action="auth.login_failed").count()
    ok = answers[:5] == [401] * 5 and answers[5:] == [429] * 3 and failed >= 5
    tally("token guessing", cases=len(answers), failures=int(not ok))
    assert ok, (answers, failed)


def ui_post_urls() -> list[str]:
    from django.urls import get_resolver

    urls = []
    for pattern in get_resolver("ui.urls").url_patterns:
        route = str(getattr(pattern, "pattern", ""))
        if not hasattr(pattern, "callback") or route in ("", "i18n/"):
            continue
        urls.append("/" + re.sub(r"<(\w+):(\w+)>", lambda m: {"uuid": str(uuid.uuid4()), "int": "1"}.get(
            m.group(1), "INC-2026-000001") if m.group(1) != "slug" else "cancel", route))
    return [*urls, "/i18n/setlang/"]


def test_every_ui_form_refuses_a_post_without_the_csrf_token(gba, make_officer):
    officer = make_officer("csrf-target", SHENZHEN, "coordinator")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(officer)
    api = Client(enforce_csrf_checks=True)
    api.force_login(officer)
    cases, failures = 0, []
    for url in ui_post_urls():
        response = browser.post(url, {"status": "verified", "text": "forged", "quantity": "1"},
                                HTTP_ORIGIN="https://evil.example", HTTP_REFERER="https://evil.example/")
        cases += 1
        if response.status_code != 403:
            failures.append((url, response.status_code))
    # The API with the session cookie (what a page on another site would ride on) too.
    response = api.post("/api/v1/incidents/", json.dumps({"title": "forged"}), content_type="application/json")
    cases += 1
    if response.status_code != 403:
        failures.append(("/api/v1/incidents/ with the session", response.status_code))
    # And the login form itself (login CSRF).
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "csrf-target",
                                                                 "password": "pw-Secret-123"})
    cases += 1
    if response.status_code != 403:
        failures.append(("/login/", response.status_code))
    tally("CSRF on the UI's forms", cases=cases, failures=len(failures))
    assert failures == [], failures


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_a_foreign_origin_is_refused(make_officer, credentials):
    from channels.db import database_sync_to_async

    from config.asgi import application
    from sharing.stream import hub as hub_module
    from tests.stream.conftest import WebsocketCommunicator

    officer = await database_sync_to_async(make_officer)("ws-target", SHENZHEN, "viewer")
    browser = Client()
    await database_sync_to_async(browser.force_login)(officer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    token = await database_sync_to_async(credentials.token)(SHENZHEN)
    attempts = [
        ([(b"origin", b"https://evil.example"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)], False),
        ([(b"origin", b"http://127.0.0.1:8000.evil.example"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)],
         False),
        ([(b"origin", b"null"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)], False),
        ([(b"origin", b"https://evil.example"), (b"host", b"evil.example"), (b"cookie", cookie)], False),
        ([(b"origin", b"https://evil.example"), (b"authorization", f"Bearer {token}".encode())], False),
        ([(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)], True),
    ]
    failures = []
    try:
        for headers, allowed in attempts:
            ws = WebsocketCommunicator(application, "/ws/v1/stream/", headers=headers)
            connected, _ = await ws.connect(timeout=5)
            if connected != allowed:
                failures.append((headers[0], connected))
            if connected:
                await ws.receive_json_from(timeout=5)
                await ws.disconnect()
    finally:
        hub = hub_module.current_hub()
        if hub is not None and not hub.loop.is_closed():
            await hub.stop()
        hub_module._hub = None
    tally("websocket from a foreign origin", cases=len(attempts), failures=len(failures))
    assert failures == []


PRIVATE_TARGETS = [
    "http://127.0.0.1/hook", "http://127.1/hook", "http://localhost:8000/hook", "http://[::1]/hook",
    "http://10.0.0.5/hook", "http://172.16.3.4/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://0.0.0.0/hook", "http://[::]/hook",
    "http://2130706433/hook", "http://0x7f000001/hook", "http://017700000001/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/", "http://224.0.0.1/hook", "http://240.0.0.1/hook",
    "http://user:pw@127.0.0.1/hook", "file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://127.0.0.1/", "http:///hook", "http://127.0.0.1:6379/", "http://localhost./hook",
]
NEVER_EVEN_WHEN_ALLOWED = ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://0.0.0.0/hook",
                           "http://224.0.0.1/hook", "http://[::ffff:169.254.169.254]/", "file:///etc/passwd",
                           "gopher://127.0.0.1:6379/_FLUSHALL"]


def test_webhook_urls_aimed_at_private_addresses_are_refused(api_as, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client = api_as(DONGGUAN)
    cases, failures = 0, []
    for url in PRIVATE_TARGETS:
        response = client.post("/api/v1/webhook-subscriptions/", {"url": url, "events": ["*"]}, format="json")
        cases += 1
        if response.status_code != 400 or "url" not in response.json().get("errors", {}):
            failures.append((url, response.status_code))
    settings.WEBHOOK_ALLOW_PRIVATE = True  # a test deployment: loopback allowed, the rest never
    for url in NEVER_EVEN_WHEN_ALLOWED:
        response = client.post("/api/v1/webhook-subscriptions/", {"url": url, "events": ["*"]}, format="json")
        cases += 1
        if response.status_code != 400:
            failures.append(("allowed private", url, response.status_code))
    # Changing an existing subscription to a private address is refused the same way.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    created = client.post("/api/v1/webhook-subscriptions/", {"url": "http://127.0.0.1:9/hook", "events": ["*"]},
                          format="json").json()
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = client.patch(f"/api/v1/webhook-subscriptions/{created['id']}/",
                            {"url": "http://169.254.169.254/latest/meta-data/"}, format="json")
    cases += 1
    if response.status_code != 400:
        failures.append(("patch", response.status_code))
    tally("webhook URLs at private addresses", cases=cases, failures=len(failures))
    assert failures == [], failures


def test_a_delivery_never_goes_to_a_private_address_the_name_resolves_to_later(gba, principal_for, settings):
    """DNS rebinding: the URL was checked when saved; the address is checked again when sent."""
    from sharing.webhooks import sender

    settings.WEBHOOK_ALLOW_PRIVATE = False
    attempt = sender.post(url="http://localhost:9/hook", body=b"{}", headers={})
    tally("webhook URLs at private addresses", cases=1, failures=int(attempt.ok or not attempt.permanent))
    assert not attempt.ok and attempt.permanent, attempt
