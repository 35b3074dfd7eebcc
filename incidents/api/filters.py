import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from coordination.models import Cluster, Jurisdiction
from incidents.catalogue import TYPE_CHOICES, Category
from incidents.lifecycle import Status
from incidents.models import Incident
from incidents.selectors import affecting
from sharing.models import Level, levels_at_least

YES_NO = [("true", "true"), ("false", "false")]


def _yes(value: str) -> bool:
    return value == "true"


class StatusInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """`status=reported,verified`: any of them."""


class IncidentFilter(django_filters.FilterSet):
    """Narrows what the caller may see (the visibility rule has already applied)."""

    cluster = django_filters.ModelChoiceFilter(queryset=Cluster.objects.all(), to_field_name="code")
    jurisdiction = django_filters.ModelChoiceFilter(
        queryset=Jurisdiction.objects.only("code"), to_field_name="code", method="filter_jurisdiction",
        label="Affects this jurisdiction (GB/T 2260 code)",
    )
    reporting_jurisdiction = django_filters.ModelChoiceFilter(
        queryset=Jurisdiction.objects.only("code"), to_field_name="code"
    )
    category = django_filters.ChoiceFilter(choices=Category.choices)
    type = django_filters.ChoiceFilter(choices=TYPE_CHOICES)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    level_at_least = django_filters.ChoiceFilter(
        choices=Level.choices, method="filter_level_at_least", label="This level or more severe (I is the most)"
    )
    status = StatusInFilter(choices=Status.choices, label="One or more statuses, comma-separated")
    cross_border = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes)
    exercise = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes, label="Drills (true) or real (false)")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Incident
        fields = [
            "cluster", "jurisdiction", "reporting_jurisdiction", "category", "type", "level", "level_at_least",
            "status", "cross_border", "exercise", "updated_since",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def filter_jurisdiction(self, queryset, name, value):
        return queryset.filter(affecting(value.code))

    def filter_level_at_least(self, queryset, name, value):
        return queryset.filter(level__in=levels_at_least(value))
