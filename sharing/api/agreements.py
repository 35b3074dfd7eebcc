"""GET, POST /api/v1/sharing-agreements/ and the agreement's detail, PATCH and DELETE (deactivate).

Everyone reads the agreements of their clusters (and those naming them as grantee);
coordinators write, through sharing.services.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from config.serializers import InstantField, StrictInput, validated
from coordination.permissions import allows
from coordination.roles import Action
from sharing import services
from sharing.models import DataKind, Level, SharingAgreement
from sharing.visibility import SENSITIVE_FIELDS

# --- serializers -------------------------------------------------------------------------------


class AgreementOutput(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster_id")
    grantor = serializers.CharField(source="grantor_id")
    grantees = serializers.SerializerMethodField()
    data_kinds = serializers.ListField(child=serializers.ChoiceField(choices=DataKind.choices))
    categories = serializers.ListField(child=serializers.CharField())
    withheld_fields = serializers.ListField(child=serializers.CharField())
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = SharingAgreement
        fields = ["id", "name", "cluster", "grantor", "grantees", "data_kinds", "categories", "level_at_least",
                  "valid_from", "valid_until", "withheld_fields", "is_active", "in_force", "created_at",
                  "updated_at"]

    def get_grantees(self, agreement) -> list[str]:
        return sorted(j.code for j in agreement.grantees.all())

    def get_in_force(self, agreement) -> bool:
        now = timezone.now()
        return (agreement.is_active and (agreement.valid_from is None or agreement.valid_from <= now)
                and (agreement.valid_until is None or now < agreement.valid_until))


class _Codes(serializers.ListField):
    child = serializers.CharField(max_length=64)
    max_length = 200


class AgreementInput(StrictInput):
    """The terms; codes are checked by the service, which names the field of an unknown one."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    cluster = serializers.CharField(max_length=16, required=False)
    grantor = serializers.CharField(max_length=6)
    grantees = _Codes()
    data_kinds = _Codes(help_text=f"Of {', '.join(DataKind.values)}.")
    categories = _Codes(required=False, help_text="Empty: every category.")
    level_at_least = serializers.CharField(max_length=3, required=False,
                                           help_text=f"One of {', '.join(Level.values)}; default IV (every level).")
    valid_from = InstantField(required=False, allow_null=True)
    valid_until = InstantField(required=False, allow_null=True)
    withheld_fields = _Codes(required=False, help_text=(
        f"Sensitive fields withheld from the grantees, of {', '.join(sorted(SENSITIVE_FIELDS))}; "
        "left out: all of them."))
    is_active = serializers.BooleanField(required=False)


@extend_schema_serializer(component_name="AgreementPatch")
class AgreementPatchInput(AgreementInput):
    grantor = serializers.CharField(max_length=6, required=False)
    grantees = _Codes(required=False)
    data_kinds = _Codes(required=False)


# --- filters ----------------------------------------------------------------------------------


class AgreementFilter(django_filters.FilterSet):
    cluster = django_filters.CharFilter(field_name="cluster_id")
    grantor = django_filters.CharFilter(field_name="grantor_id")
    grantee = django_filters.CharFilter(field_name="grantees__code", distinct=True)
    data_kind = django_filters.ChoiceFilter(choices=DataKind.choices, method="filter_data_kind")
    in_force = django_filters.BooleanFilter(method="filter_in_force")

    class Meta:
        model = SharingAgreement
        fields = ["cluster", "grantor", "grantee", "data_kind", "in_force"]

    def filter_data_kind(self, queryset, name, value):
        return queryset.filter(data_kinds__icontains=f'"{value}"')

    def filter_in_force(self, queryset, name, value):
        now = timezone.now()
        in_force = (Q(is_active=True) & (Q(valid_from__isnull=True) | Q(valid_from__lte=now))
                    & (Q(valid_until__isnull=True) | Q(valid_until__gt=now)))
        return queryset.filter(in_force) if value else queryset.exclude(in_force)


# --- views ------------------------------------------------------------------------------------


class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AgreementOutput
    filterset_class = AgreementFilter
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_SHARING)]
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no caller
            return SharingAgreement.objects.none()
        return services.agreements_visible_to(principal=self.request.user).order_by("cluster_id", "name", "id")

    def get_object(self):
        return services.agreement_get(principal=self.request.user, agreement_id=self.kwargs["pk"])

    @extend_schema(request=AgreementInput, responses={201: AgreementOutput})
    def create(self, request):
        data = validated(AgreementInput, request.data)
        agreement = services.agreement_create(actor=request.user, **data)
        return Response(AgreementOutput(agreement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AgreementPatchInput, responses={200: AgreementOutput})
    def partial_update(self, request, pk=None):
        agreement = self.get_object()
        data = validated(AgreementPatchInput, request.data, partial=True)
        agreement = services.agreement_update(actor=request.user, agreement=agreement, **data)
        return Response(AgreementOutput(agreement).data)

    @extend_schema(request=None, responses={204: None}, description="Deactivates the agreement (kept for the record).")
    def destroy(self, request, pk=None):
        services.agreement_deactivate(actor=request.user, agreement=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
