from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ValidationFailed
from config.serializers import validated
from coordination.permissions import allows
from coordination.roles import Action
from incidents.alerts import intake, issuing, selectors
from incidents.alerts.api import parsers
from incidents.alerts.api.filters import AlertFilter
from incidents.alerts.api.serializers import (
    AlertApproveInput,
    AlertCancelInput,
    AlertDraftInput,
    AlertOutput,
    AlertTermsInput,
    AlertWordingEditInput,
)
from incidents.alerts.models import Alert

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_CAP_BODY = {media: OpenApiTypes.BINARY for media in ("application/cap+xml", "application/xml", "text/xml")}
_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json).")


class CapImportApi(APIView):
    """POST /api/v1/cap/: import one CAP 1.2 alert (docs/cap.md, "Import")."""

    parser_classes = [parsers.CapXmlParser, parsers.XmlParser, parsers.TextXmlParser]
    permission_classes = [allows(write=Action.IMPORT_ALERT)]

    def perform_content_negotiation(self, request, force=False):
        # The answer is the alert as JSON (docs/cap.md), whatever a sender that speaks CAP puts in
        # Accept: refusing with 406 would drop its warning on the floor.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="cap_import",
        request=_CAP_BODY,
        responses={
            201: AlertOutput,
            200: OpenApiResponse(AlertOutput, description="Already held: nothing changed."),
            400: OpenApiResponse(description="Problem details with `code`, `reason`, `line`, `element`."),
            403: OpenApiResponse(description="Problem details (`/problems/cap-sender-not-allowed`, with `sender`) "
                                             "when the sender is not registered to the caller's jurisdiction; or "
                                             "the caller may not import."),
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
        result = intake.alert_import(actor=request.user, document=document)
        view = selectors.alert_get_visible_to(principal=request.user, alert_id=result.alert_id)
        headers = {"Location": f"/api/v1/alerts/{result.alert_id}/"}
        return Response(AlertOutput(view).data, status=status.HTTP_201_CREATED if result.created else 200,
                        headers=headers)


class AlertViewSet(viewsets.GenericViewSet):
    """Alerts the caller may see (sharing.visibility: every CAP Public alert, drafts only their
    owner), and alerts issued from incidents: drafted, approved, updated, cancelled."""

    serializer_class = AlertOutput
    filterset_class = AlertFilter
    permission_classes = [allows(read=Action.READ, write=Action.DRAFT_ALERT, approve=Action.APPROVE_ALERT,
                                 issue_update=Action.APPROVE_ALERT, cancel=Action.APPROVE_ALERT)]
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

    def _written(self, request, alert, status_code: int) -> Response:
        view = selectors.alert_get_visible_to(principal=request.user, alert_id=alert.pk)
        return Response(self.get_serializer(view).data, status=status_code,
                        headers={"Location": f"/api/v1/alerts/{alert.pk}/"})

    @extend_schema(
        operation_id="alert_draft",
        request=AlertDraftInput,
        responses={201: AlertOutput, 400: _PROBLEM, 403: _PROBLEM, 409: _PROBLEM},
        description="Drafts an alert from an incident of the caller's jurisdiction (commanders, API clients with "
                    "alerts:write): CAP terms from the category and level (docs/cap.md, \"Our category and level ↔ "
                    "CAP\"), info blocks in zh-CN and en-US, the incident's area. A draft (`state` draft) is seen "
                    "by its jurisdiction alone until it is approved. An incident the caller may not see is a 400 "
                    "naming `incident`; another jurisdiction's is a 403; a closed or cancelled one a 409.",
    )
    def create(self, request):
        data = validated(AlertDraftInput, request.data)
        alert = issuing.alert_draft(actor=request.user, incident=data.pop("incident"), data=data)
        return self._written(request, alert, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="alert_approve", request=AlertApproveInput,
        responses={200: AlertOutput, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
        description="Issues a draft: `sent` is now, `state` active, and `alert.issued` goes out. 409 when it is not "
                    "a draft, its incident is closed, or it expired meanwhile; also when its language blocks "
                    "drifted apart (`languages_in_step` false; the problem names `languages_changed` and "
                    "`languages_unchanged`) and `confirm_languages` is not true.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def approve(self, request, pk=None):
        data = validated(AlertApproveInput, request.data or {})
        alert = issuing.alert_approve(actor=request.user, alert_id=pk, confirm_languages=data["confirm_languages"])
        return self._written(request, alert, status.HTTP_200_OK)

    @extend_schema(
        operation_id="alert_wording", request=AlertWordingEditInput,
        responses={200: AlertOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
        description="Changes the wording of a draft's language blocks (a zh-HK or zh-MO block is added when "
                    "given). When one block changes and another does not, the draft says so "
                    "(`languages_in_step` false) until the other changes too or `languages_agree` is sent. 409 "
                    "when it is not a draft or its incident is closed.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def wording(self, request, pk=None):
        data = validated(AlertWordingEditInput, request.data)
        alert = issuing.alert_edit_draft(actor=request.user, alert_id=pk, data=data)
        return self._written(request, alert, status.HTTP_200_OK)

    @extend_schema(
        operation_id="alert_update", request=AlertTermsInput,
        responses={201: AlertOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
        description="Issues an Update of an active alert issued from an incident: a new message (msgType Update, "
                    "naming it in `references`) written from the incident as it is now. Terms not given are the "
                    "alert's; headline and description not given are written anew. 201 with the Update.",
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update", filterset_class=None,
            pagination_class=None)
    def issue_update(self, request, pk=None):
        data = validated(AlertTermsInput, request.data)
        alert = issuing.alert_update(actor=request.user, alert_id=pk, data=data)
        return self._written(request, alert, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="alert_cancel", request=AlertCancelInput,
        responses={201: AlertOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
        description="Issues a Cancel of an active alert issued from an incident (msgType Cancel, over the same "
                    "areas); the incident may be closed. 201 with the Cancel.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def cancel(self, request, pk=None):
        data = validated(AlertCancelInput, request.data)
        alert = issuing.alert_cancel(actor=request.user, alert_id=pk, note=data.get("note", ""))
        return self._written(request, alert, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="alert_cap",
        # The CAP media type by default; application/xml to a client that asks for it alone.
        responses={(200, "application/cap+xml"): OpenApiTypes.BINARY, (200, "application/xml"): OpenApiTypes.BINARY,
                   404: _PROBLEM},
        description="The alert as a CAP 1.2 document, valid against the OASIS schema, without the fields "
                    "withheld from the caller: `application/cap+xml`, or `application/xml` when that is what "
                    "Accept asks for.",
    )
    @action(detail=True, methods=["get"], url_path="cap",
            renderer_classes=[parsers.CapXmlRenderer, parsers.XmlRenderer], filterset_class=None,
            pagination_class=None)
    def cap(self, request, pk=None):
        return Response(selectors.alert_cap_document(principal=request.user, alert_id=pk))
