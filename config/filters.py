"""What every API FilterSet shares."""

import django_filters
from django_filters.fields import IsoDateTimeField

from config.times import InstantMixin


class InstantField(InstantMixin, IsoDateTimeField):
    pass


class InstantFilter(django_filters.IsoDateTimeFilter):
    """Every date-time filter of the API (`updated_since`, `sent_after`, …): ISO 8601 read
    under config.times' rule, so a time the database cannot take is a 400 naming the filter."""

    field_class = InstantField
