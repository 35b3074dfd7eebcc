from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ValidationFailed
from coordination.permissions import allows
from coordination.roles import Action
from incidents.alerts import selectors, services
from incidents.alerts.api import parsers
from incidents.alerts.api.filters import AlertFilter
from incidents.alerts.api.serializers import AlertSerializer
from incidents.alerts.models import Alert

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_CAP_BODY = {media: OpenApiTypes.BINARY for media in ("application/cap+xml", "application/xml", "text/xml")}
_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json).")


class CapImportApi(APIView):
    """POST /api/v1/cap/: import one CAP 1.2 alert (API.md "CAP 1.2")."""

    parser_classes = [parsers.CapXmlParser, parsers.XmlParser, parsers.TextXmlParser]
    permission_classes = [allows(write=Action.IMPORT_ALERT)]

    def perform_content_negotiation(self, request, force=False):
        # The answer is the alert as JSON (API.md), whatever a sender that speaks CAP puts in
        # Accept: refusing with 406 would drop its warning on the floor.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="cap_import",
        request=_CAP_BODY,
        responses={
            201: AlertSerializer,
            200: OpenApiResponse(AlertSerializer, description="Already held: nothing changed."),
            400: OpenApiResponse(description="Problem details with `code`, `reason`, `line`, `element`."),
            409: OpenApiResponse(description="Already held for a jurisdiction whose alerts you may not see."),
            413: _PROBLEM,
        },
        examples=[OpenApiExample("rejected", response_only=True, status_codes=["400"], value={
            "type": "/problems/cap-rejected", "title": "CAP document rejected", "status": 400,
            "detail": "not valid CAP 1.2: Element 'status': [facet 'enumeration'] … (line 6, <status>)",
            "code": "schema", "reason": "not valid CAP 1.2: …", "line": 6, "element": "status",
        })],
    )
    def post(self, request):
        document = request.data
        if not isinstance(document, bytes):
            raise ValidationFailed.on("document", "The request body is empty; a CAP 1.2 document was expected.")
        result = services.alert_import(actor=request.user, document=document)
        view = selectors.alert_get_visible_to(principal=request.user, alert_id=result.alert_id)
        headers = {"Location": f"/api/v1/alerts/{result.alert_id}/"}
        return Response(AlertSerializer(view).data, status=status.HTTP_201_CREATED if result.created else 200,
                        headers=headers)


class AlertViewSet(viewsets.GenericViewSet):
    """Alerts the caller may see (sharing.visibility, and every CAP Public alert)."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    permission_classes = [allows(read=Action.READ)]
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the filters
            return Alert.objects.none()
        return selectors.alert_list_visible_to(principal=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        views = selectors.alert_views(principal=request.user, alerts=page)
        return self.get_paginated_response(self.get_serializer(views, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(selectors.alert_get_visible_to(principal=request.user, alert_id=pk)).data)

    @extend_schema(
        operation_id="alert_cap",
        responses={(200, "application/cap+xml"): OpenApiTypes.BINARY, 404: _PROBLEM},
        description="The alert as a CAP 1.2 document, valid against the OASIS schema, without the fields "
                    "withheld from the caller.",
    )
    @action(detail=True, methods=["get"], url_path="cap",
            renderer_classes=[parsers.CapXmlRenderer, parsers.XmlRenderer], filterset_class=None,
            pagination_class=None)
    def cap(self, request, pk=None):
        return Response(selectors.alert_cap_document(principal=request.user, alert_id=pk))
