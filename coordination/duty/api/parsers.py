"""`text/calendar` in and out: the bytes of an iCalendar document, read up to MAX_BODY_BYTES
(413 beyond, chunked bodies included). What the bytes say is coordination.duty.ical's business."""

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer

from config.errors import PayloadTooLarge

CALENDAR_MEDIA_TYPE = "text/calendar"


class CalendarParser(BaseParser):
    media_type = CALENDAR_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(gettext("The calendar is larger than %(n)s bytes.") % {"n": limit})
        if not raw.strip():
            raise ParseError(gettext("The request body is empty; an iCalendar document was expected."))
        return raw


class CalendarRenderer(BaseRenderer):
    """The roster as ical.roster_calendar wrote it; an error still goes out as JSON problem
    details (the exception handler sets that content type)."""

    media_type = CALENDAR_MEDIA_TYPE
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data, accepted_media_type, renderer_context)
