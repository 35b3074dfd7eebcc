"""Checking the XML signature an alert may carry.

CAP 1.2 lets a sender put an enveloped XML-DSig <Signature> after the last
<info>. What "verified" means here, precisely:

* The document passed the same hardened parse as :func:`parse_cap` (no DTD,
  no entities, no network, size limit).
* It carries exactly one <Signature> as a child of <alert>, with one
  <Reference URI=""> whose transforms are only the enveloped-signature
  transform and canonicalisation, i.e. the signature covers the whole alert.
  (Several signatures are "failed": each one's enveloped transform leaves the
  others inside the signed content. The one multi-signature producer seen in
  practice, Canada's NAAD, adds its signature next to Environment Canada's:
  EC's then verifies only with NAAD's removed, and NAAD's not at all.)
* The digest and the signature value check out with the public key of the
  first X.509 certificate in the signature's own <KeyInfo>. This is
  integrity, not trust: it shows the alert is unchanged since someone holding
  that certificate's key signed it, not that the certificate belongs to a
  warning authority. Chains, revocation and validity dates are therefore not
  checked (an alert from 2019 signed with a certificate that has since
  expired still verifies); deciding whom to trust is the caller's job.
* Base64 in the signature and certificate must be canonical, as the XML-DSig
  schema requires. Four of the six "bad signature" test files alter only the
  last base64 character, which a lenient decoder maps back to the original
  bytes; they must not verify.
* SHA-1, as signature or digest algorithm, is "failed". SHA-1 collisions are
  practical (SHAttered 2017, chosen-prefix 2020), so a SHA-1 digest no longer
  shows the content is what was signed; XML-DSig 1.1 and NIST SP 800-131A
  retire it for signatures, and signxml refuses it by default. In the
  conformance corpus this decides one file, an AtHoc Cancel (RSA-SHA256 over
  a SHA-1 digest); its other SHA-1 signatures carry no certificate anyway.
* If the exact bytes do not verify, the check is repeated with whitespace-only
  text between elements removed, and that counts as verified. CAP elements
  have element-only content, so that whitespace carries nothing. The
  Seychelles and Togo alerts in the conformance corpus were signed without
  the indentation they carry, and WMO's own capvalidator verifies them after
  removing it in the same way. Text inside elements is never touched.

Everything that is not verified and not absent is "failed": placeholders,
broken digests, altered certificates or signature values, missing
certificates, unsupported or refused algorithms, even unreadable documents.
The reason is logged (logger ``incidents.alerts.cap.signature``, INFO) rather
than raised, because the caller's question has exactly three answers.
"""

import logging
from dataclasses import replace
from typing import Literal

from cryptography import x509
from lxml import etree
from signxml import DigestAlgorithm, InvalidSignature, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod

from ._xml import XMLDSIG_NAMESPACE, hardened_parser
from .parsing import DEFAULT_MAX_BYTES, CapRejected, read_document

SignatureStatus = Literal["verified", "failed", "absent"]

logger = logging.getLogger(__name__)

_DS = f"{{{XMLDSIG_NAMESPACE}}}"
_WHOLE_DOCUMENT_TRANSFORMS = frozenset(
    {SignatureConstructionMethod.enveloped.value} | {method.value for method in CanonicalizationMethod}
)
_EXPECTED_SIGNATURE = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=frozenset(
        method for method in SignatureMethod if "SHA1" not in method.name and not method.name.startswith("HMAC")
    ),
    digest_algorithms=frozenset(algorithm for algorithm in DigestAlgorithm if algorithm is not DigestAlgorithm.SHA1),
)


class _Unverifiable(Exception):
    """The signature is not one this module will vouch for; the message says why."""


def verify_signature(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SignatureStatus:
    """Whether the alert's own enveloped signature holds: "verified", "failed" or "absent".

    Never raises; see the module docstring for exactly what "verified" means.
    """
    try:
        root = read_document(data, max_bytes=max_bytes, keep_comments=True)
    except CapRejected as rejected:
        return _failed(f"document refused: {rejected}")
    signatures = root.findall(f"{_DS}Signature")
    if not signatures:
        return "absent"
    try:
        _verify(root, signatures)
    # signxml, cryptography and lxml raise many exception types on malformed
    # signatures (ValueError, KeyError, DocumentInvalid...); all of them mean "failed".
    except Exception as problem:
        return _failed(f"{type(problem).__name__}: {problem}")
    return "verified"


def _failed(reason: str) -> SignatureStatus:
    logger.info("CAP signature not verified: %s", reason)
    return "failed"


def _verify(root: etree._Element, signatures: list[etree._Element]) -> None:
    if len(signatures) > 1:
        raise _Unverifiable(f"{len(signatures)} enveloped signatures; exactly one is supported")
    signature = signatures[0]
    _require_whole_alert_signed(signature)
    certificate = _embedded_certificate(signature)
    # Validity dates belong to trust, not integrity: check at a moment the certificate was valid.
    config = replace(_EXPECTED_SIGNATURE, verification_time=certificate.not_valid_before_utc)
    try:
        _verify_with(root, certificate, config)
    except InvalidSignature:
        _verify_with(_without_indentation(root), certificate, config)


def _verify_with(root: etree._Element, certificate: x509.Certificate, config: SignatureConfiguration) -> None:
    XMLVerifier().verify(
        root,
        x509_cert=certificate,
        parser=hardened_parser(keep_comments=True),
        expect_config=config,
        validate_schema=True,  # the XML-DSig schema is what rejects non-canonical base64
    )


def _require_whole_alert_signed(signature: etree._Element) -> None:
    references = signature.findall(f"{_DS}SignedInfo/{_DS}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise _Unverifiable('the signature must have one Reference with URI="" (the whole alert)')
    for transform in references[0].iterfind(f"{_DS}Transforms/{_DS}Transform"):
        if transform.get("Algorithm") not in _WHOLE_DOCUMENT_TRANSFORMS:
            raise _Unverifiable(f"transform {transform.get('Algorithm')} could exclude part of the alert")


def _embedded_certificate(signature: etree._Element) -> x509.Certificate:
    certificate = signature.find(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    if certificate is None:
        raise _Unverifiable("the signature carries no X.509 certificate")
    base64_body = "".join((certificate.text or "").split())
    pem = f"-----BEGIN CERTIFICATE-----\n{base64_body}\n-----END CERTIFICATE-----\n"
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def _without_indentation(root: etree._Element) -> etree._Element:
    """A copy of the alert without whitespace-only text between elements (see module docstring)."""
    compact = etree.fromstring(etree.tostring(root), hardened_parser(keep_comments=True))
    for node in compact.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return compact
