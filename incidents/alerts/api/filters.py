import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from config.filters import InstantFilter
from coordination.models import Jurisdiction
from incidents.alerts.cap.model import MSG_TYPES, SCOPES, STATUSES
from incidents.alerts.models import Alert, AlertJurisdiction, AlertState, SignatureStatus
from incidents.alerts.selectors import state_q
from sharing.models import Level, levels_at_least


def _choices(values):
    return [(value, value) for value in values]


class AlertFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices, method="filter_state")
    msg_type = django_filters.ChoiceFilter(choices=_choices(MSG_TYPES))
    status = django_filters.ChoiceFilter(choices=_choices(STATUSES))
    scope = django_filters.ChoiceFilter(choices=_choices(SCOPES))
    signature = django_filters.ChoiceFilter(choices=SignatureStatus.choices)
    sender = django_filters.CharFilter()
    identifier = django_filters.CharFilter()
    exercise = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )
    jurisdiction = django_filters.ModelChoiceFilter(
        queryset=Jurisdiction.objects.all(), to_field_name="code", method="filter_jurisdiction",
        label="Affected jurisdiction (code)",
    )
    owner = django_filters.ModelChoiceFilter(queryset=Jurisdiction.objects.all(), to_field_name="code")
    incident = django_filters.CharFilter(field_name="incident__public_id",
                                         label="The incident it was issued from (public id)")
    level_at_least = django_filters.ChoiceFilter(choices=Level.choices, method="filter_level_at_least")
    sent_after = InstantFilter(field_name="sent", lookup_expr="gte")
    sent_before = InstantFilter(field_name="sent", lookup_expr="lt")
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Alert
        fields = [
            "state", "msg_type", "status", "scope", "signature", "sender", "identifier", "exercise",
            "jurisdiction", "owner", "incident", "level_at_least", "sent_after", "sent_before", "updated_since",
        ]

    def filter_state(self, queryset, name, value):
        return queryset.filter(state_q(value))

    @extend_schema_field(OpenApiTypes.STR)
    def filter_jurisdiction(self, queryset, name, value):
        return queryset.filter(pk__in=AlertJurisdiction.objects.filter(jurisdiction=value).values("alert_id"))

    def filter_level_at_least(self, queryset, name, value):
        return queryset.filter(level__in=levels_at_least(value))
