import copy

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from config.filters import InstantFilter
from coordination.models import Cluster, Jurisdiction
from incidents.catalogue import TYPE_CHOICES, Category
from incidents.lifecycle import Status
from incidents.models import Incident
from incidents.selectors import affecting
from sharing.models import Level, levels_at_least
from sharing.visibility import sharing_context

YES_NO = [("true", "true"), ("false", "false")]


def _yes(value: str) -> bool:
    return value == "true"


class StatusInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """`status=reported,verified`: any of them."""


class RegisteredCodeField(forms.CharField):
    """A code of the registry, checked against this process's registry snapshot (and the
    database only for a code the snapshot does not know): a ModelChoiceField asked the
    database on every request. Refused with a ModelChoiceField's own message."""

    default_error_messages = {"invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"]}

    def __init__(self, *, model, known, **kwargs):
        self.model, self.known = model, known
        super().__init__(strip=False, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value and value not in self.known() and not self.model.objects.filter(pk=value).exists():
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


@extend_schema_field(OpenApiTypes.STR)
class RegisteredCodeFilter(django_filters.CharFilter):
    field_class = RegisteredCodeField


def _jurisdiction_codes() -> frozenset[str]:
    return sharing_context().jurisdictions


def _cluster_codes() -> frozenset[str]:
    return frozenset(sharing_context().members)


class FilterTemplates(dict):
    """A FilterSet's declared filters. The FilterSet deep-copies them for every request so
    that each copy may point at its FilterSet; nothing else in a filter changes after it is
    declared, so a shallow copy of each does, without copying every choice list (most of a
    filtered page's own cost, measured)."""

    def __deepcopy__(self, memo):
        return FilterTemplates((name, _own_copy(filter_)) for name, filter_ in self.items())


def _own_copy(filter_: django_filters.Filter) -> django_filters.Filter:
    copied = copy.copy(filter_)
    if filter_.method is not None:
        copied.method = filter_.method  # a FilterMethod of its own, calling the copy's FilterSet
    return copied


class IncidentFilter(django_filters.FilterSet):
    """Narrows what the caller may see (the visibility rule has already applied)."""

    cluster = RegisteredCodeFilter(model=Cluster, known=_cluster_codes)
    jurisdiction = RegisteredCodeFilter(
        model=Jurisdiction, known=_jurisdiction_codes, method="filter_jurisdiction",
        label="Affects this jurisdiction (GB/T 2260 code)",
    )
    reporting_jurisdiction = RegisteredCodeFilter(model=Jurisdiction, known=_jurisdiction_codes)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    type = django_filters.ChoiceFilter(choices=TYPE_CHOICES)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    level_at_least = django_filters.ChoiceFilter(
        choices=Level.choices, method="filter_level_at_least", label="This level or more severe (I is the most)"
    )
    status = StatusInFilter(choices=Status.choices, label="One or more statuses, comma-separated")
    cross_border = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes)
    exercise = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes, label="Drills (true) or real (false)")
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Incident
        fields = [
            "cluster", "jurisdiction", "reporting_jurisdiction", "category", "type", "level", "level_at_least",
            "status", "cross_border", "exercise", "updated_since",
        ]

    @classmethod
    def get_filters(cls):
        return FilterTemplates(super().get_filters())

    def get_form_class(self):
        # The form's fields are the filters' (never changed after they are made), so one form
        # class serves every request; each form still deep-copies its fields, as forms do.
        if "_form_class" not in type(self).__dict__:
            type(self)._form_class = super().get_form_class()
        return type(self)._form_class

    @extend_schema_field(OpenApiTypes.STR)
    def filter_jurisdiction(self, queryset, name, value):
        return queryset.filter(affecting(value))

    def filter_level_at_least(self, queryset, name, value):
        return queryset.filter(level__in=levels_at_least(value))
