"""`GET /api/v1/notifications/?incident=INC-…`: who was reached for an incident (docs/notifications.md).
A thin caller of coordination.notify.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from config.serializers import validated
from coordination.notify.api.serializers import NotificationOutput
from coordination.notify.models import Notification
from coordination.notify.selectors import notifications_of_incident
from coordination.permissions import allows
from coordination.roles import Action

_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json).")


class NotificationQuery(serializers.Serializer):
    incident = serializers.CharField(max_length=32, help_text="The incident's public id.")


class NotificationViewSet(viewsets.GenericViewSet):
    # The rows come from the selector (list below); the empty queryset tells drf-spectacular the
    # model, which it otherwise looks for and warns about in `manage.py check --deploy`.
    queryset = Notification.objects.none()
    serializer_class = NotificationOutput
    permission_classes = [allows(read=Action.READ)]

    @extend_schema(
        parameters=[OpenApiParameter("incident", OpenApiTypes.STR, required=True,
                                     description="The incident's public id (INC-2026-000123).")],
        responses={200: NotificationOutput(many=True), 400: _PROBLEM, 404: _PROBLEM},
        description="One object per recipient and channel of the incident's notifications, with the time "
                    "each state was reached; seen as the incident is (404 otherwise). `address` is null "
                    "unless the caller may see the recipient's contact details.")
    def list(self, request):
        query = validated(NotificationQuery, request.query_params)
        reached = notifications_of_incident(principal=request.user, incident=query["incident"])
        page = self.paginate_queryset(reached.rows)
        serializer = NotificationOutput(page if page is not None else reached.rows, many=True,
                                            context={"addresses_of": reached.addresses_of})
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)
