"""The web push subscribe button on "My contact methods" (issue 20): the page hands the browser
the server's VAPID public key (derived from WEBPUSH_VAPID_PRIVATE_KEY) and the service worker's
address, loads only our own script (the CSP holds: nothing inline), and the subscription the
script posts is stored as a web push contact method through coordination.people's service;
then a real push, encrypted for that subscription, is decrypted by the local push service's
browser with the acknowledgement link the service worker opens."""

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.test import Client
from py_vapid import Vapid

from coordination.notify.providers.base import Message
from coordination.notify.providers.registry import provider_for
from coordination.people import selectors
from tests.conftest import SHENZHEN
from tests.notify.servers import PushServer, b64url

pytestmark = pytest.mark.django_db

URL = "/me/contact-methods/"
STATIC = Path(__file__).resolve().parents[2] / "ui" / "static" / "ui"


@pytest.fixture
def push(settings):
    vapid = Vapid()
    vapid.generate_keys()
    public = b64url(vapid.public_key.public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint))
    settings.NOTIFY_ALLOW_LOOPBACK_ENDPOINTS = True
    with PushServer(application_server_key=public) as server:
        settings.WEBPUSH_VAPID_PRIVATE_KEY = vapid.private_pem().decode()
        settings.WEBPUSH_TIMEOUT_SECONDS = 2
        yield server, public


def test_the_button_subscribes_with_the_servers_key_and_stores_the_subscription(push, make_officer):
    server, public = push
    officer = make_officer("sz-push", SHENZHEN)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer)
    page = client.get(URL)
    html = page.content.decode()
    assert f'data-key="{public}"' in html and 'id="push-button"' in html
    worker = re.search(r'data-worker="([^"]+)"', html).group(1)
    assert worker.endswith("ui/sw/push-sw.js") and "/static/ui/js/push.js" in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all('type="application/json"' in attributes for attributes in inline), inline  # data, not script

    browser = server.subscribe()
    answer = client.post(f"{URL}push/", {"subscription": json.dumps(browser.subscription()), "label": "office"})
    assert answer.status_code == 302
    [method] = selectors.contact_methods_of(officer)
    assert method.channel == "webpush" and method.label == "office"
    assert json.loads(method.address)["endpoint"] == browser.subscription()["endpoint"]
    # The same subscription twice: refused next to the form, nothing added.
    again = client.post(f"{URL}push/", {"subscription": json.dumps(browser.subscription())})
    assert again.status_code == 400 and "already on the list" in again.content.decode()
    assert len(selectors.contact_methods_of(officer)) == 1

    # What the service worker receives: the title, the body and the acknowledgement link it opens.
    provider_for("webpush").send(Message(idempotency_key="ack.x.1.webpush", address=method.address,
                                         subject="INC-2026-000123", text="请确认", link="https://liandong.example/ack/t/",
                                         language="zh-hans"))
    [received] = server.accepted
    assert received["payload"] == {"title": "INC-2026-000123", "body": "请确认", "url": "https://liandong.example/ack/t/"}


def test_a_forged_subscription_is_refused(push, make_officer):
    officer = make_officer("sz-push2", SHENZHEN)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer)
    answer = client.post(f"{URL}push/", {"subscription": '{"endpoint": "https://push.example/x", "keys": {}}'})
    assert answer.status_code == 400 and selectors.contact_methods_of(officer) == []


def test_without_a_vapid_key_there_is_no_button(settings, make_officer):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_officer("sz-push3", SHENZHEN))
    html = client.get(URL).content.decode()
    assert 'id="push-button"' not in html and "Browser push is not set up on this server." in html


def test_the_service_worker_shows_the_push_and_opens_its_link():
    worker = (STATIC / "sw" / "push-sw.js").read_text()
    assert "showNotification" in worker and "openWindow(url)" in worker and "data.url" in worker
    script = (STATIC / "js" / "push.js").read_text()
    assert "pushManager.subscribe" in script and "applicationServerKey: keyBytes(section.dataset.key)" in script
