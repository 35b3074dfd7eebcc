"""GET, POST /api/v1/cap-senders/ and a registration's detail and DELETE: the CAP sender registry.

Members of a cluster read its registrations; its coordinators register and remove them. The
rule they feed, and every check, is incidents.alerts.senders.
"""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from config.serializers import StrictInput, validated
from coordination.permissions import allows
from coordination.roles import Action
from incidents.alerts import senders
from incidents.alerts.models import MAX_IDENTIFIER_LENGTH, CapSender

_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json).")


class CapSenderOutput(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction_id")

    class Meta:
        model = CapSender
        fields = ["id", "pattern", "jurisdiction", "note", "created_at", "created_by"]


class CapSenderInput(StrictInput):
    pattern = serializers.CharField(max_length=MAX_IDENTIFIER_LENGTH, help_text=(
        "An exact CAP sender, or a shell pattern (*, ?, [...]) such as *@hk-gov.example; letter case does not "
        "count."))
    jurisdiction = serializers.CharField(max_length=6, help_text="The GB/T 2260 code allowed to import under it.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class CapSenderFilter(django_filters.FilterSet):
    jurisdiction = django_filters.CharFilter(field_name="jurisdiction_id")

    class Meta:
        model = CapSender
        fields = ["jurisdiction"]


class CapSenderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CapSenderOutput
    filterset_class = CapSenderFilter
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_CAP_SENDERS)]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no caller
            return CapSender.objects.none()
        return senders.cap_senders_visible_to(principal=self.request.user).order_by("jurisdiction_id", "pattern")

    def get_object(self):
        return senders.cap_sender_get(principal=self.request.user, registration_id=self.kwargs["pk"])

    @extend_schema(
        request=CapSenderInput,
        responses={201: CapSenderOutput, 200: OpenApiResponse(CapSenderOutput, description="Already so."),
                   400: _PROBLEM, 403: _PROBLEM, 409: _PROBLEM},
        description="Registers a sender (or pattern) to a jurisdiction of the coordinator's clusters: from then on "
                    "only that jurisdiction imports CAP alerts under it. 409 when another jurisdiction's "
                    "registration overlaps it.",
    )
    def create(self, request):
        data = validated(CapSenderInput, request.data)
        registration, created = senders.cap_sender_register(actor=request.user, **data)
        return Response(CapSenderOutput(registration).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=None, responses={204: None, 403: _PROBLEM, 404: _PROBLEM},
                   description="Unregisters: alerts already imported stay; new ones under the sender are refused.")
    def destroy(self, request, pk=None):
        senders.cap_sender_remove(actor=request.user, registration=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
