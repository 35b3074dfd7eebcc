"""Request bodies and responses of the CAP endpoints: raw XML bytes, never parsed here.

The parser only reads the body, up to CAP_MAX_BYTES (413 beyond, chunked bodies included);
what the bytes say is incidents.alerts.cap's business (hardened parse, schema).
"""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer

from config.errors import PayloadTooLarge

CAP_MEDIA_TYPE = "application/cap+xml"


class CapXmlParser(BaseParser):
    """`application/cap+xml`: the body as bytes, for incidents.alerts.intake.alert_import."""

    media_type = CAP_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.CAP_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The CAP document is larger than {limit} bytes.")
        if not raw.strip():
            raise ParseError("The request body is empty; a CAP 1.2 document was expected.")
        return raw


class XmlParser(CapXmlParser):
    media_type = "application/xml"


class TextXmlParser(CapXmlParser):
    """`text/xml`, which many warning systems still send (RFC 7303 deprecates it)."""

    media_type = "text/xml"


class CapXmlRenderer(BaseRenderer):
    """A CAP document as rendered by incidents.alerts.cap; an error still goes out as JSON
    problem details (the view's exception handler sets that content type)."""

    media_type = CAP_MEDIA_TYPE
    format = "cap"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data, accepted_media_type, renderer_context)


class XmlRenderer(CapXmlRenderer):
    media_type = "application/xml"
    format = "xml"
