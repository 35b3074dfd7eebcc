"""Writing CAP 1.2 documents for other systems.

Choices that a receiver can observe:

* UTF-8 with an XML declaration, CAP 1.2 as the default namespace (no
  prefix), elements in the XSD's order, indented for people reading feeds.
* Empty optional elements are left out rather than written empty: an empty
  <references/> or <note/> is legal for the XSD but trips stricter
  validators (Google's, NAAD's) and says nothing.
* Date-times follow CAP 1.2 section 3.3.2 exactly: seconds precision and a
  numeric offset, "-00:00" for UTC (see ``_values.format_datetime``).
* No <Signature>: an export is a new document issued by us; the sender's
  signature covered their bytes, not ours, and we do not re-sign.

The result is checked against the CAP 1.2 XSD before it is returned, so a
caller can never publish an invalid document; an ``Alert`` that cannot make
one raises ``ValueError``.
"""

from datetime import datetime

from lxml import etree

from . import _values
from ._xml import CAP_NAMESPACE, cap_tag, readable_schema_message, schema_errors
from .model import MSG_TYPES_ACTING_ON_REFERENCES, Alert, Area, Info, Resource, ValuePair


def render_cap(alert: Alert) -> bytes:
    """The CAP 1.2 XML document for ``alert``; ``ValueError`` if CAP cannot express it."""
    if alert.msg_type in MSG_TYPES_ACTING_ON_REFERENCES and not alert.references:
        raise ValueError(f"msgType {alert.msg_type} must name the earlier message(s) it acts on in references")
    root = etree.Element(cap_tag("alert"), nsmap={None: CAP_NAMESPACE})
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", alert.sender)
    _add(root, "sent", _values.format_datetime(alert.sent))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add_optional(root, "source", alert.source)
    _add(root, "scope", alert.scope)
    _add_optional(root, "restriction", alert.restriction)
    _add_optional(root, "addresses", _values.join_quoted_list(alert.addresses))
    for code in alert.codes:
        _add_optional(root, "code", code)
    _add_optional(root, "note", alert.note)
    _add_optional(root, "references", _values.format_references(alert.references))
    _add_optional(root, "incidents", _values.join_quoted_list(alert.incidents))
    for info in alert.infos:
        _add_info(root, info)

    errors = schema_errors(root)
    if errors:
        problem = readable_schema_message(errors[0].message)
        raise ValueError(f"the alert does not make a valid CAP 1.2 document: {problem}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, cap_tag(name)).text = text


def _add_optional(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None and text.strip():
        _add(parent, name, text)


def _add_optional_datetime(parent: etree._Element, name: str, moment: datetime | None) -> None:
    if moment is not None:
        _add(parent, name, _values.format_datetime(moment))


def _add_optional_decimal(parent: etree._Element, name: str, number: float | None) -> None:
    if number is not None:
        _add(parent, name, _values.format_decimal(number))


def _add_value_pairs(parent: etree._Element, name: str, pairs: list[ValuePair]) -> None:
    for value_name, value in pairs:
        pair = etree.SubElement(parent, cap_tag(name))
        _add(pair, "valueName", value_name)
        _add(pair, "value", value)


def _add_info(root: etree._Element, info: Info) -> None:
    element = etree.SubElement(root, cap_tag("info"))
    _add(element, "language", info.language)
    for category in info.categories:
        _add(element, "category", category)
    _add(element, "event", info.event)
    for response_type in info.response_types:
        _add(element, "responseType", response_type)
    _add(element, "urgency", info.urgency)
    _add(element, "severity", info.severity)
    _add(element, "certainty", info.certainty)
    _add_optional(element, "audience", info.audience)
    _add_value_pairs(element, "eventCode", info.event_codes)
    _add_optional_datetime(element, "effective", info.effective)
    _add_optional_datetime(element, "onset", info.onset)
    _add_optional_datetime(element, "expires", info.expires)
    _add_optional(element, "senderName", info.sender_name)
    _add_optional(element, "headline", info.headline)
    _add_optional(element, "description", info.description)
    _add_optional(element, "instruction", info.instruction)
    _add_optional(element, "web", info.web)
    _add_optional(element, "contact", info.contact)
    _add_value_pairs(element, "parameter", info.parameters)
    for resource in info.resources:
        _add_resource(element, resource)
    for area in info.areas:
        _add_area(element, area)


def _add_resource(info: etree._Element, resource: Resource) -> None:
    element = etree.SubElement(info, cap_tag("resource"))
    _add(element, "resourceDesc", resource.resource_desc)
    _add(element, "mimeType", resource.mime_type)
    if resource.size is not None:
        _add(element, "size", str(resource.size))
    _add_optional(element, "uri", resource.uri)
    _add_optional(element, "derefUri", resource.deref_uri)
    _add_optional(element, "digest", resource.digest)


def _add_area(info: etree._Element, area: Area) -> None:
    element = etree.SubElement(info, cap_tag("area"))
    _add(element, "areaDesc", area.area_desc)
    for polygon in area.polygons:
        _add(element, "polygon", _values.format_polygon(polygon))
    for circle in area.circles:
        _add(element, "circle", _values.format_circle(circle))
    _add_value_pairs(element, "geocode", area.geocodes)
    _add_optional_decimal(element, "altitude", area.altitude)
    _add_optional_decimal(element, "ceiling", area.ceiling)
