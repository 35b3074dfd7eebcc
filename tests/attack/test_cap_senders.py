"""CAP sender squatting and unsafe links, from an outside security probe (issue 17).

Zhaoqing's warning system (any holder of alerts:write) used to import a forged copy of Hong
Kong's next alert under Hong Kong's `sender`: it was stored as Zhaoqing's, and Hong Kong's
genuine alert with that identifier was then answered with Zhaoqing's forgery and never stored.
Every CAP sender is now tied to the one jurisdiction registered for it (docs/cap-senders.md);
an import under a sender the importer may not use is a 403 naming the sender, and an
already-held message is looked up among the importer's own alerts only.

A `<web>` address is linked onward by every reader of the alert; one that is not http(s)
(`javascript:`, `data:`, …) is refused on import with a 400 naming `web`.
"""

from dataclasses import replace
from datetime import datetime

import pytest
from django.core.management import call_command

from incidents.alerts.cap import Reference
from incidents.alerts.models import Alert
from tests.alerts.capdocs import cap_document, post_cap, zhuhai_info
from tests.attack.conftest import tally
from tests.conftest import HONG_KONG, ZHAOQING

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

HK_SENDER = "eoc@hk-gov.example"
HK_IDENTIFIER = "HK-EOC-2026-0816-001"
ZHAOQING_SENDER = "warning@zhaoqing-gov.example"


def hk_alert(headline: str, *, sender: str = HK_SENDER, identifier: str = HK_IDENTIFIER, **changes) -> bytes:
    info = zhuhai_info("en-US", headline=headline, sender_name="Hong Kong EOC")
    return cap_document(identifier, sender=sender, infos=[info], **changes)


def refused_naming_sender(response, sender: str) -> bool:
    return (response.status_code == 403 and response["Content-Type"] == "application/problem+json"
            and sender in response.json()["detail"])


@pytest.fixture
def registry(gba):
    call_command("register_cap_sender", "*@hk-gov.example", jurisdiction=HONG_KONG, verbosity=0)
    call_command("register_cap_sender", ZHAOQING_SENDER, jurisdiction=ZHAOQING, verbosity=0)


def test_a_jurisdiction_cannot_import_under_another_authoritys_sender(registry, api_as):
    zhaoqing_system, zhaoqing_commander = api_as(ZHAOQING), api_as(ZHAOQING, role="commander")
    hong_kong = api_as(HONG_KONG)
    failures = []
    forged = hk_alert("FAKE: all clear")
    attempts = {
        "forged copy of Hong Kong's next alert": (zhaoqing_system, forged, HK_SENDER),
        "the same, by a commander": (zhaoqing_commander, forged, HK_SENDER),
        "the sender in other letter case": (zhaoqing_system, hk_alert("FAKE", sender="EOC@HK-GOV.EXAMPLE"),
                                            "EOC@HK-GOV.EXAMPLE"),
        "Liandong's own sender for Hong Kong": (zhaoqing_system, hk_alert("FAKE", sender=f"liandong:{HONG_KONG}"),
                                                f"liandong:{HONG_KONG}"),
        "a sender no jurisdiction registered": (zhaoqing_system, hk_alert("FAKE", sender="nobody@unlisted.example"),
                                                "nobody@unlisted.example"),
    }
    for name, (client, document, sender) in attempts.items():
        response = post_cap(client, document)
        if not refused_naming_sender(response, sender):
            failures.append((name, response.status_code, response.content[:200]))
    if Alert.objects.exclude(owner_id=HONG_KONG).filter(identifier=HK_IDENTIFIER).exists():
        failures.append(("a refused import was stored", ZHAOQING))

    genuine = post_cap(hong_kong, hk_alert("Typhoon signal No. 8"))
    if genuine.status_code != 201 or genuine.json()["owner"] != HONG_KONG:
        failures.append(("Hong Kong's genuine alert", genuine.status_code, genuine.content[:200]))
    elif genuine.json()["info"][0]["headline"] != "Typhoon signal No. 8":
        failures.append(("Hong Kong got another record back", genuine.json()["info"][0]["headline"]))

    # A Cancel under Zhaoqing's own sender that names Hong Kong's alert changes nothing of it.
    cancel = hk_alert("cancelled", sender=ZHAOQING_SENDER, identifier="ZQ-1", msg_type="Cancel",
                      references=[Reference(HK_SENDER, HK_IDENTIFIER, datetime.fromisoformat(genuine.json()["sent"]))])
    post_cap(zhaoqing_system, cancel)
    state = hong_kong.get(f"/api/v1/alerts/{genuine.json()['id']}/").json()["state"]
    if state == "cancelled":
        failures.append(("Zhaoqing's Cancel took Hong Kong's alert down", state))

    tally("CAP senders (POST /api/v1/cap/)", cases=len(attempts) + 3, failures=len(failures))
    assert failures == [], failures


def test_a_held_message_is_never_answered_with_another_jurisdictions_record(registry, api_as):
    """A forgery stored while the sender was registered to the wrong jurisdiction (corrected
    since) does not squat the identifier: the genuine alert is stored for its own sender's
    jurisdiction, and each side gets its own record back on a replay."""
    call_command("register_cap_sender", "*@hk-gov.example", jurisdiction=HONG_KONG, remove=True, verbosity=0)
    call_command("register_cap_sender", "*@hk-gov.example", jurisdiction=ZHAOQING, verbosity=0)
    zhaoqing, hong_kong = api_as(ZHAOQING), api_as(HONG_KONG)
    forged = post_cap(zhaoqing, hk_alert("FAKE: all clear"))
    assert forged.status_code == 201, forged.content
    call_command("register_cap_sender", "*@hk-gov.example", jurisdiction=ZHAOQING, remove=True, verbosity=0)
    call_command("register_cap_sender", "*@hk-gov.example", jurisdiction=HONG_KONG, verbosity=0)

    failures = []
    genuine_document = hk_alert("Typhoon signal No. 8")
    for attempt in ("first", "replay"):
        response = post_cap(hong_kong, genuine_document)
        expected = 201 if attempt == "first" else 200
        body = response.json()
        if (response.status_code, body.get("owner")) != (expected, HONG_KONG) or body.get("id") == forged.json()["id"]:
            failures.append((attempt, response.status_code, body.get("owner"), body.get("info", [{}])[0]))
    if Alert.objects.filter(identifier=HK_IDENTIFIER, owner_id=HONG_KONG).count() != 1:
        failures.append(("Hong Kong's alert is not stored once", HONG_KONG))
    tally("CAP senders (POST /api/v1/cap/)", cases=2, failures=len(failures))
    assert failures == [], failures


UNSAFE_WEB = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://hk-gov.example/warning.txt",
    "//evil.example/phish",
    "https:///no-host",
]


def test_a_web_address_that_is_not_http_is_refused_naming_the_field(registry, api_as):
    hong_kong = api_as(HONG_KONG)
    failures = []
    for number, web in enumerate(UNSAFE_WEB):
        info = replace(zhuhai_info("en-US"), web=web)
        response = post_cap(hong_kong, cap_document(f"HK-WEB-{number}", sender=HK_SENDER, infos=[info]))
        problem = response.json() if response["Content-Type"] == "application/problem+json" else {}
        if response.status_code != 400 or "web" not in problem.get("errors", {}):
            failures.append((web, response.status_code, response.content[:200]))
    if Alert.objects.filter(identifier__startswith="HK-WEB-").exists():
        failures.append(("an alert with an unsafe <web> was stored", HONG_KONG))
    safe = post_cap(hong_kong, cap_document("HK-WEB-OK", sender=HK_SENDER,
                                            infos=[replace(zhuhai_info("en-US"), web="https://hk-gov.example/a")]))
    if safe.status_code != 201:
        failures.append(("an https <web> was refused", safe.status_code, safe.content[:200]))
    tally("CAP web links (POST /api/v1/cap/)", cases=len(UNSAFE_WEB) + 1, failures=len(failures))
    assert failures == [], failures
