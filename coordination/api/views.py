import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.schema import PROBLEM
from config.serializers import validated
from coordination import selectors, services
from coordination.api import serializers
from coordination.authentication import client_ip
from coordination.models import Cluster, Jurisdiction, JurisdictionLevel
from coordination.throttling import TokenLoginThrottle


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ClusterOutput
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9]+"

    def get_queryset(self):
        return selectors.cluster_list()

    def get_object(self):
        return selectors.cluster_get(code=self.kwargs["code"])


class JurisdictionFilter(django_filters.FilterSet):
    cluster = django_filters.ModelChoiceFilter(
        field_name="clusters", queryset=Cluster.objects.all(), to_field_name="code"
    )
    level = django_filters.ChoiceFilter(choices=JurisdictionLevel.choices)
    core = django_filters.TypedChoiceFilter(
        field_name="is_core", choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )
    parent = django_filters.ModelChoiceFilter(queryset=Jurisdiction.objects.all(), to_field_name="code")

    class Meta:
        model = Jurisdiction
        fields = ["cluster", "level", "core", "parent"]


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = JurisdictionFilter
    lookup_field = "code"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.jurisdiction_list()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.JurisdictionDetailOutput
        return serializers.JurisdictionOutput

    def get_object(self):
        return selectors.jurisdiction_get(code=self.kwargs["code"])


class TokenApi(APIView):
    """Officers log in for the API (POST) and log out (DELETE) with the token they got; this
    endpoint serves officers only (an API client's DELETE is a 403, see
    coordination.services.officer_logout)."""

    throttle_classes = [TokenLoginThrottle]

    def _logging_in(self) -> bool:
        return getattr(self.request, "method", None) == "POST"

    def get_permissions(self):
        return [AllowAny()] if self._logging_in() else super().get_permissions()

    def get_authenticators(self):
        # Logging in must not trip over a stale Authorization header or a session's CSRF.
        return [] if self._logging_in() else super().get_authenticators()

    def get_throttles(self):
        return super().get_throttles() if self._logging_in() else []

    @extend_schema(request=serializers.TokenInput,
                   responses={201: serializers.TokenOutput, 401: PROBLEM})
    def post(self, request):
        data = validated(serializers.TokenInput, request.data)
        raw, expires_at = services.officer_token_issue(
            username=data["username"], password=data["password"], ip=client_ip(request)
        )
        return Response(
            serializers.TokenOutput({"token": raw, "expires_at": expires_at}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={204: None, 403: PROBLEM},
                   description="An officer ends the token it calls with. An API client gets 403: its tokens "
                               "are issued and revoked by the deployment's administrators (docs/tokens.md).")
    def delete(self, request):
        services.officer_logout(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
