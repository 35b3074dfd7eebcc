"""Every page a browser renders carries a strict Content-Security-Policy (config.middleware,
SECURE_CSP): scripts, styles and connections from this site only, nothing inline, no framing.
So a script that slipped into a page (a title an attacker chose, rendered by a template that
forgot to escape it) would not run. The templates keep to it: no inline script, no <style>,
no style attribute. Whether the pages still work under it, in a real browser, is checked by
tests/ui/test_browser.py (test_no_page_breaks_its_content_security_policy)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import get_resolver

from tests.attack.conftest import tally
from tests.attack.world import build_world
from tests.conftest import SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "object-src": "'none'",
    "base-uri": "'none'", "frame-ancestors": "'none'", "form-action": "'self'", "connect-src": "'self'",
}


def policy(response) -> dict[str, str]:
    header = response.get("Content-Security-Policy", "")
    return {name: value.strip() for name, _sep, value in
            (part.strip().partition(" ") for part in header.split(";") if part.strip())}


def strict(response) -> bool:
    directives = policy(response)
    return all(directives.get(name) == value for name, value in REQUIRED.items()) and not any(
        "unsafe" in value for value in directives.values())


def ui_pages(world) -> list[str]:
    """Every page of the web UI that a GET shows, with the world's ids where a page needs one."""
    ids = {"public_id": world.private["incident"], "alert_id": world.private["alert"]}
    pages = []
    for pattern in get_resolver("ui.urls").url_patterns:
        route = str(getattr(pattern, "pattern", ""))
        if not hasattr(pattern, "callback") or route.endswith((".json", "/ack/", "/approve/")):
            continue
        names = re.findall(r"<\w+:(\w+)>", route)
        if any(name not in ids for name in names):
            continue  # a page that only takes posts
        pages.append("/" + re.sub(r"<\w+:(\w+)>", lambda m: ids[m.group(1)], route))
    return pages


def test_every_page_carries_a_strict_content_security_policy(credentials, make_officer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    world = build_world(credentials)
    browser = Client()
    browser.force_login(make_officer("csp-reader", SHENZHEN, "coordinator"))
    anonymous = Client()
    answers = [(path, browser.get(path)) for path in ui_pages(world)]
    answers += [(path, anonymous.get(path)) for path in ("/login/", "/admin/login/", "/api/docs/", "/no-such-page/")]
    cases, failures = 0, []
    for path, response in answers:
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        cases += 1
        if not strict(response):
            failures.append((path, response.status_code, response.get("Content-Security-Policy")))
    # The printable situation report is a file of its own: its inline <style> and nothing else.
    printable = Client()
    printable.force_login(make_officer("csp-printer", SHENZHEN, "coordinator"))
    response = printable.get(f"/api/v1/incidents/{world.private['incident']}/sitrep/print/", HTTP_ACCEPT="text/html")
    cases += 1
    directives = policy(response)
    if response.status_code != 200 or directives.get("default-src") != "'none'" \
            or "script-src" in directives or directives.get("frame-ancestors") != "'none'":
        failures.append(("sitrep print", response.status_code, response.get("Content-Security-Policy")))
    tally("content security policy", cases=cases, failures=len(failures))
    assert cases > 15 and failures == [], failures


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline script"),
    (re.compile(r"<style\b", re.I), "<style>"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\shx-on", re.I), "hx-on (evaluated)"),
]


def test_no_template_of_a_page_has_inline_script_or_style():
    """What the policy would block, caught before a browser has to: the UI's templates and
    the error pages (the printable situation report has a policy of its own)."""
    templates = sorted((ROOT / "ui" / "templates").rglob("*.html"))
    failures = [(str(path.relative_to(ROOT)), what) for path in templates for pattern, what in INLINE
                if pattern.search(path.read_text(encoding="utf-8"))]
    tally("content security policy", cases=len(templates) * len(INLINE), failures=len(failures))
    assert len(templates) > 20 and failures == [], failures
