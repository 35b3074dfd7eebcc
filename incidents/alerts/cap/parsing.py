"""Reading CAP 1.2 documents from untrusted bytes.

Alerts reach us from other jurisdictions' systems, feeds and people's
uploads, so the parser treats every document as hostile until proven
otherwise, in this order:

1. size: documents over ``max_bytes`` are refused before any parsing;
2. DTDs: a document type declaration is refused from the raw bytes, before
   libxml2 sees it, so entity bombs and external entities (files, URLs) are
   never expanded or fetched; the parser itself is also configured to load no
   DTD, resolve no entity and use no network, and a DOCTYPE that hides behind
   an exotic encoding is caught on the parsed document (belt and braces);
3. well-formedness, then the root element: only a bare CAP 1.2 <alert>;
4. the OASIS CAP 1.2 XSD shipped in ``schema/``;
5. the value formats the XSD types as plain strings (references, polygons,
   circles) and the rule that an Update/Cancel/Ack/Error names the messages it
   acts on.

Whatever is wrong with the bytes, the caller gets a :class:`CapRejected`.
"""

import codecs
import re
from collections.abc import Callable
from typing import Literal, TypeVar

from lxml import etree

from . import _values
from ._xml import (
    CAP_NAMESPACE,
    XMLDSIG_NAMESPACE,
    cap_tag,
    hardened_parser,
    local_name,
    readable_schema_message,
    schema_errors,
)
from .model import (
    DEFAULT_LANGUAGE,
    MSG_TYPES_ACTING_ON_REFERENCES,
    Alert,
    Area,
    Info,
    Resource,
    ValuePair,
)

DEFAULT_MAX_BYTES = 1_000_000

RejectionCode = Literal["too_large", "unsafe", "not_well_formed", "not_cap", "schema"]

_T = TypeVar("_T")
_XML_DECLARATION = re.compile(rb"<\?xml\s")
_WHITESPACE = re.compile(r"\s*")
_ELEMENT_IN_SCHEMA_MESSAGE = re.compile(r"Element '([^']+)'")

_DOCTYPE_REASON = (
    "the document has a document type declaration (<!DOCTYPE ...>); DTDs are refused so that "
    "nothing in the document can be expanded or fetched"
)
_ENTITY_REASON = (
    "the document declares entities (<!DOCTYPE ... <!ENTITY ...>); DTDs and entity declarations are "
    "refused so that nothing in the document can be expanded or fetched"
)


class CapRejected(ValueError):
    """A document that is not an acceptable CAP 1.2 alert, and why.

    ``code`` is for programs: "too_large", "unsafe" (DTD or entity
    declarations), "not_well_formed", "not_cap" (wrong root element or
    namespace) or "schema" (breaks the CAP 1.2 XSD or a CAP value format).
    ``reason`` is for people. ``line`` and ``element`` point at the problem
    when it has a place in the document.
    """

    def __init__(self, reason: str, line: int | None, element: str | None, code: RejectionCode):
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.element = element
        self.code = code

    def __str__(self) -> str:
        place = [f"line {self.line}"] if self.line is not None else []
        place += [f"<{self.element}>"] if self.element is not None else []
        return f"{self.code}: {self.reason}" + (f" ({', '.join(place)})" if place else "")


def parse_cap(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Alert:
    """Read one CAP 1.2 alert from untrusted bytes, or raise :class:`CapRejected`."""
    root = read_document(data, max_bytes=max_bytes, keep_comments=False)
    _require_cap_root(root)
    _require_schema_valid(root)
    return _read_alert(root)


def read_document(data: bytes, *, max_bytes: int, keep_comments: bool) -> etree._Element:
    """The hardened parse (steps 1 to 3 up to well-formedness), shared with signature checking."""
    if len(data) > max_bytes:
        raise CapRejected(
            f"the document is {len(data):,} bytes; at most {max_bytes:,} are accepted", None, None, "too_large"
        )
    data = _with_declaration_first(data)
    _refuse_document_type(data)
    try:
        root = etree.fromstring(data, hardened_parser(keep_comments=keep_comments))
    except etree.XMLSyntaxError as error:
        raise CapRejected(f"not well-formed XML: {error.msg}", error.lineno, None, "not_well_formed") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CapRejected(_DOCTYPE_REASON, None, None, "unsafe")
    return root


def _with_declaration_first(data: bytes) -> bytes:
    """Tolerate blank lines before the XML declaration, as produced by careless feed templates.

    XML allows nothing before ``<?xml ...?>``, but the whitespace carries no
    meaning, so the declaration is moved in front of it. Moving rather than
    stripping keeps every line number the same as in the received bytes.
    """
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    body = data[len(bom) :]
    content = body.lstrip(b" \t\r\n")
    if len(content) == len(body) or not _XML_DECLARATION.match(content):
        return data
    declaration_end = content.find(b"?>")
    if declaration_end == -1:
        return data
    declaration_end += len(b"?>")
    leading_whitespace = body[: len(body) - len(content)]
    return bom + content[:declaration_end] + leading_whitespace + content[declaration_end:]


def _prolog_text(data: bytes) -> str:
    """The document as text, good enough to find markup in its prolog.

    UTF-16 and UTF-32 are recognised from the NUL bytes XML markup produces
    in them; everything else CAP is sent in (UTF-8, ISO-8859-x, GB 18030, Big5)
    keeps ASCII markup bytes as they are, which Latin-1 decoding preserves.
    """
    head = data[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", errors="replace")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if len(head) == 4 and b"\x00" in head:
        if head[:2] == b"\x00\x00":
            return data.decode("utf-32-be", errors="replace")
        if head[2:] == b"\x00\x00":
            return data.decode("utf-32-le", errors="replace")
        return data.decode("utf-16-be" if head[0] == 0 else "utf-16-le", errors="replace")
    return data.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def _refuse_document_type(data: bytes) -> None:
    """Refuse a <!DOCTYPE> in the prolog without parsing it.

    A DOCTYPE can only stand between the XML declaration and the root
    element, among comments and processing instructions, so only that stretch
    is examined; a "<!DOCTYPE" quoted in an alert's text is not a declaration.
    """
    text = _prolog_text(data).lstrip("\ufeff")
    position = 0
    while True:
        position = _WHITESPACE.match(text, position).end()
        if text.startswith("<?", position):
            end_marker = "?>"
        elif text.startswith("<!--", position):
            end_marker = "-->"
        elif text.startswith("<!DOCTYPE", position):
            reason = _ENTITY_REASON if "<!ENTITY" in text else _DOCTYPE_REASON
            raise CapRejected(reason, text.count("\n", 0, position) + 1, None, "unsafe")
        else:
            return
        end = text.find(end_marker, position + 2)
        if end == -1:
            return  # unterminated: the parser will report it as not well-formed
        position = end + len(end_marker)


def _require_cap_root(root: etree._Element) -> None:
    if root.tag == cap_tag("alert"):
        return
    namespace = etree.QName(root).namespace
    name = local_name(root.tag)
    if name == "alert" and namespace and namespace.startswith("urn:oasis:names:tc:emergency:cap:"):
        reason = f"this is a CAP message in namespace {namespace}; only CAP 1.2 ({CAP_NAMESPACE}) is accepted"
    else:
        reason = (
            f"the root element is <{name}> in namespace {namespace or '(none)'}; a CAP 1.2 message is a "
            f"single <alert> in namespace {CAP_NAMESPACE}"
        )
    raise CapRejected(reason, root.sourceline, name, "not_cap")


def _require_schema_valid(root: etree._Element) -> None:
    errors = schema_errors(root)
    if not errors:
        return
    first = errors[0]
    message = readable_schema_message(first.message)
    named = _ELEMENT_IN_SCHEMA_MESSAGE.search(message)
    more = f" ({len(errors) - 1} more schema errors follow)" if len(errors) > 1 else ""
    raise CapRejected(
        f"not valid CAP 1.2: {message}{more}",
        first.line,
        local_name(named.group(1)) if named else None,
        "schema",
    )


def _read(element: etree._Element, parse: Callable[[str], _T]) -> _T:
    try:
        return parse(element.text or "")
    except ValueError as problem:
        name = local_name(element.tag)
        raise CapRejected(f"<{name}>: {problem}", element.sourceline, name, "schema") from None


def _required_text(parent: etree._Element, name: str) -> str:
    return parent.find(cap_tag(name)).text or ""


def _optional_text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(cap_tag(name))
    if element is None or not (element.text or "").strip():
        return None
    return element.text


def _optional_value(parent: etree._Element, name: str, parse: Callable[[str], _T]) -> _T | None:
    element = parent.find(cap_tag(name))
    if element is None or not (element.text or "").strip():
        return None
    return _read(element, parse)


def _texts(parent: etree._Element, name: str) -> list[str]:
    return [element.text for element in parent.findall(cap_tag(name)) if (element.text or "").strip()]


def _repeated_values(parent: etree._Element, name: str, parse: Callable[[str], _T]) -> list[_T]:
    return [_read(element, parse) for element in parent.findall(cap_tag(name)) if (element.text or "").strip()]


def _value_pairs(parent: etree._Element, name: str) -> list[ValuePair]:
    return [
        ValuePair(_required_text(element, "valueName"), _required_text(element, "value"))
        for element in parent.findall(cap_tag(name))
    ]


def _read_alert(root: etree._Element) -> Alert:
    msg_type = _required_text(root, "msgType")
    references = _optional_value(root, "references", _values.parse_references) or []
    if msg_type in MSG_TYPES_ACTING_ON_REFERENCES and not references:
        element = root.find(cap_tag("references"))
        if element is None:
            element = root.find(cap_tag("msgType"))
        raise CapRejected(
            f"msgType {msg_type} acts on earlier messages, which CAP 1.2 identifies in <references>; "
            "this message names none",
            element.sourceline,
            local_name(element.tag),
            "schema",
        )
    return Alert(
        identifier=_required_text(root, "identifier"),
        sender=_required_text(root, "sender"),
        sent=_read(root.find(cap_tag("sent")), _values.parse_datetime),
        status=_required_text(root, "status"),
        msg_type=msg_type,
        source=_optional_text(root, "source"),
        scope=_required_text(root, "scope"),
        restriction=_optional_text(root, "restriction"),
        addresses=_optional_value(root, "addresses", _values.split_quoted_list) or [],
        codes=_texts(root, "code"),
        note=_optional_text(root, "note"),
        references=references,
        incidents=_optional_value(root, "incidents", _values.split_quoted_list) or [],
        infos=[_read_info(info) for info in root.findall(cap_tag("info"))],
        has_signature=root.find(f"{{{XMLDSIG_NAMESPACE}}}Signature") is not None,
    )


def _read_info(info: etree._Element) -> Info:
    return Info(
        language=_optional_value(info, "language", str.strip) or DEFAULT_LANGUAGE,
        categories=_texts(info, "category"),
        event=_required_text(info, "event"),
        response_types=_texts(info, "responseType"),
        urgency=_required_text(info, "urgency"),
        severity=_required_text(info, "severity"),
        certainty=_required_text(info, "certainty"),
        audience=_optional_text(info, "audience"),
        event_codes=_value_pairs(info, "eventCode"),
        effective=_optional_value(info, "effective", _values.parse_datetime),
        onset=_optional_value(info, "onset", _values.parse_datetime),
        expires=_optional_value(info, "expires", _values.parse_datetime),
        sender_name=_optional_text(info, "senderName"),
        headline=_optional_text(info, "headline"),
        description=_optional_text(info, "description"),
        instruction=_optional_text(info, "instruction"),
        web=_optional_value(info, "web", str.strip),
        contact=_optional_text(info, "contact"),
        parameters=_value_pairs(info, "parameter"),
        resources=[_read_resource(resource) for resource in info.findall(cap_tag("resource"))],
        areas=[_read_area(area) for area in info.findall(cap_tag("area"))],
    )


def _read_resource(resource: etree._Element) -> Resource:
    return Resource(
        resource_desc=_required_text(resource, "resourceDesc"),
        mime_type=_required_text(resource, "mimeType"),
        size=_optional_value(resource, "size", int),
        uri=_optional_value(resource, "uri", str.strip),
        deref_uri=_optional_text(resource, "derefUri"),
        digest=_optional_text(resource, "digest"),
    )


def _read_area(area: etree._Element) -> Area:
    return Area(
        area_desc=_required_text(area, "areaDesc"),
        polygons=_repeated_values(area, "polygon", _values.parse_polygon),
        circles=_repeated_values(area, "circle", _values.parse_circle),
        geocodes=_value_pairs(area, "geocode"),
        altitude=_optional_value(area, "altitude", _values.parse_decimal),
        ceiling=_optional_value(area, "ceiling", _values.parse_decimal),
    )
