"""The one rule for a time a caller sends: a query-string filter, a JSON body, a web form.

A time is read as an instant. Its UTC offset must lie within ±14:00: no place on Earth uses a
wider one, XML Schema's xs:dateTime (CAP's date-times) stops there, and PostgreSQL refuses
offsets from ±16:00 on, so `updated_since=…-18:00` reached the database as written and came
back a 500. And the instant must exist in UTC, years 1 to 9999: "0001-01-01T00:00" in
Asia/Shanghai is a moment of year 0 in UTC, which SQLite's adapter could not convert (a 500
again). Times are handed on in the current time zone, as DRF hands on the times it reads, so
no caller's offset ever reaches a query.

The edges take the rule from here: `config.filters.InstantFilter` (every datetime filter),
`config.serializers.InstantField` (every time in a JSON body) and `InstantFormField` below
(the web UI's forms).
"""

from datetime import UTC, datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_OFFSET = timedelta(hours=14)

OUT_OF_RANGE = _("Give a time whose UTC offset is between -14:00 and +14:00, in the years 1 to 9999.")


class OutOfRange(ValueError):
    pass


def instant(value: datetime) -> datetime:
    """`value` in the current time zone (a naive one is read in it); OutOfRange when its
    offset or the instant itself is outside the rule above."""
    if timezone.is_naive(value):
        try:
            value = timezone.make_aware(value)
        except (OverflowError, ValueError) as exc:
            raise OutOfRange(str(exc)) from None
    offset = value.utcoffset()
    if abs(offset) > MAX_OFFSET:
        raise OutOfRange(f"UTC offset {offset} is beyond ±14:00")
    try:
        value.astimezone(UTC)
        return value.astimezone(timezone.get_current_timezone())
    except OverflowError:
        raise OutOfRange(f"{value.isoformat()} is outside the years 1 to 9999 in UTC") from None


class InstantMixin:
    """For a Django form field that reads a date-time: the rule above, or a ValidationError."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return instant(value)
        except OutOfRange:
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class InstantFormField(InstantMixin, forms.DateTimeField):
    """A web form's date-time (its own formats and ISO 8601, with or without an offset)."""
