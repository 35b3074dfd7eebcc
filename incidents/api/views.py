"""The incidents API (docs/api.md, "Incidents"): thin callers of incidents.services and
incidents.selectors.

Who may: reading needs `read`; reporting, changing, timeline entries and situation reports
need the incident.report action (operators and above, API clients with `incidents:write`);
transitions need incident.transition (commanders and above, API clients with
`incidents:write`). A caller whose role or scopes never allow an action gets 403 for any id
(that says nothing about the incident); one whose role allows it gets 404 for an incident it
may not see, and 403 for one it sees but is not the reporter of (or, for timeline entries and
situation reports, not an affected jurisdiction of).
"""


from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import PayloadTooLarge, ValidationFailed
from config.pagination import DefaultPagination
from config.problems import problem_exception_handler
from config.schema import PROBLEM
from config.serializers import validated
from coordination.permissions import allows
from coordination.roles import Action
from incidents import selectors, services
from incidents.api import serializers
from incidents.api.filters import IncidentFilter
from incidents.api.pagination import SyncCursorPagination
from incidents.catalogue import catalogue_as_data
from incidents.models import Incident
from incidents.payloads import sitrep_data, timeline_entry_data

PUBLIC_ID = "[A-Za-z0-9-]+"  # the route's, and the schema's, so a fuzzer's id reaches the view
ID = OpenApiParameter("id", str, OpenApiParameter.PATH, pattern=f"^{PUBLIC_ID}$",
                      description="The incident's public id, e.g. INC-2026-000123.")
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False,
    description='The ETag you read (e.g. "3"); a stale one gives 409.',
)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request) -> int | None:
    """The version an `If-Match` header names, or None without one (or with `*`)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ValidationFailed.on("If-Match", 'An ETag this API gave out, such as "3".')
    return int(tag)


def incident_response(request, data: dict, *, status_code: int = status.HTTP_200_OK) -> Response:
    headers = {"ETag": etag(data["version"])}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = request.build_absolute_uri(reverse("incident-detail", kwargs={"id": data["id"]}))
    return Response(data, status=status_code, headers=headers)


PRINTABLE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; " \
                "frame-ancestors 'none'"


class PrintableHTMLRenderer(BaseRenderer):
    """Lets a printable view be asked for as text/html. The view answers with HTML itself;
    an error stays problem details (JSON), whatever was asked for."""

    media_type = "text/html"
    format = "html"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


@extend_schema(parameters=[ID])
class IncidentViewSet(viewsets.GenericViewSet):
    permission_classes = [
        allows(read=Action.READ, write=Action.REPORT_INCIDENT, transition=Action.TRANSITION_INCIDENT)
    ]
    filterset_class = IncidentFilter
    pagination_class = SyncCursorPagination
    lookup_url_kwarg = "id"
    lookup_value_regex = PUBLIC_ID

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        return selectors.incident_list_visible_to(principal=self.request.user)

    @extend_schema(responses=serializers.IncidentOutput(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(selectors.incidents_read_by(principal=request.user, incidents=page))

    @extend_schema(
        request=serializers.IncidentInput,
        description=(
            "Reports an incident for the caller's jurisdiction (operators and above, API clients with "
            "incidents:write). With an external_id this jurisdiction used before, no second incident is made: "
            "the existing one is answered (200), changed where the report differs."
        ),
        responses={
            201: serializers.IncidentOutput,
            200: OpenApiResponse(serializers.IncidentOutput, "The external_id was used before: the existing "
                                                             "incident, updated with what changed."),
            409: PROBLEM,
        },
    )
    def create(self, request):
        outcome = services.incident_report(actor=request.user, data=serializers.incident_input(request.data))
        return incident_response(
            request, outcome.data, status_code=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )

    @extend_schema(responses={200: serializers.IncidentOutput, 304: None})
    def retrieve(self, request, id=None):
        _, data = selectors.incident_read_by(principal=request.user, public_id=id)
        if request.headers.get("If-None-Match") == etag(data["version"]):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(data["version"])})
        return incident_response(request, data)

    @extend_schema(
        parameters=[IF_MATCH], request=serializers.IncidentChangeInput,
        responses={200: serializers.IncidentOutput, 409: PROBLEM},
        description=(
            "Changes an incident of the caller's jurisdiction (operators and above, API clients with "
            "incidents:write). Other jurisdictions get 404 if they may not see it, 403 if they may. A change "
            "of location or area recomputes the affected jurisdictions, keeping those added by hand."
        ),
    )
    def partial_update(self, request, id=None):
        expected = if_match_version(request)
        outcome = services.incident_update(
            actor=request.user, public_id=id, data=validated(serializers.IncidentChangeInput, request.data),
            expected_version=expected,
        )
        return incident_response(request, outcome.data)

    @extend_schema(methods=["GET"], request=None, responses=serializers.TimelineEntryOutput(many=True))
    @extend_schema(methods=["POST"], request=serializers.TimelineUpdateInput,
                   responses={201: serializers.TimelineEntryOutput})
    @action(detail=True, methods=["get", "post"])
    def updates(self, request, id=None):
        """The timeline (GET), or a new entry in it (POST)."""
        if request.method == "POST":
            data = validated(serializers.TimelineUpdateInput, request.data)
            _, entry = services.incident_update_add(
                actor=request.user, public_id=id, text=data["text"], figures=data.get("figures")
            )
            return Response(entry, status=status.HTTP_201_CREATED)
        incident, entries = selectors.incident_timeline_read_by(principal=request.user, public_id=id)
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(
            [timeline_entry_data(entry, cluster=incident.cluster_id) for entry in page]
        )

    @extend_schema(
        request=serializers.TransitionInput,
        responses={200: serializers.IncidentOutput, 409: PROBLEM},
        description=(
            "Moves the incident along reported → verified → responding → contained → closed, or to cancelled "
            "from any open status; any other move is 409 (the problem lists the allowed ones). Moving to the "
            "current status changes nothing. Closing or cancelling needs a closing note (400 without one); it "
            "ends the incident's playbook runs (their alert drafts discarded), closes its joint command and "
            "withdraws its open mutual-aid requests (what is already lent stays out until returned); issued "
            "alerts stay active until their sender cancels them. Who may: commanders (and coordinators) of the "
            "reporting jurisdiction, and its API clients with the incidents:write scope; other roles get 403."
        ),
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, id=None):
        data = validated(serializers.TransitionInput, request.data)
        outcome = services.incident_transition(
            actor=request.user, public_id=id, status=data["status"], note=data["note"]
        )
        return incident_response(request, outcome.data)

    @extend_schema(request=serializers.JurisdictionAddInput, responses={200: serializers.IncidentOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"], url_path="affected-jurisdictions")
    def affected_jurisdictions(self, request, id=None):
        """Name an affected jurisdiction by hand (kept when the area is recomputed)."""
        data = validated(serializers.JurisdictionAddInput, request.data)
        outcome = services.incident_jurisdiction_add(
            actor=request.user, public_id=id, jurisdiction=data["jurisdiction"]
        )
        return incident_response(request, outcome.data)

    @extend_schema(methods=["GET"], request=None, responses=serializers.SitrepOutput(many=True))
    @extend_schema(methods=["POST"], request=serializers.SitrepInput,
                   responses={201: serializers.SitrepOutput, 200: serializers.SitrepOutput})
    @action(detail=True, methods=["get", "post"])
    def sitreps(self, request, id=None):
        """Situation reports: every one (GET), or the caller's jurisdiction's for a period (POST;
        again for the same period start replaces it, 200)."""
        if request.method == "POST":
            outcome = services.sitrep_submit(
                actor=request.user, public_id=id, data=validated(serializers.SitrepInput, request.data)
            )
            return Response(outcome.data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)
        incident, reports = selectors.sitreps_read_by(principal=request.user, public_id=id)
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(reports, request, view=self)
        return paginator.get_paginated_response([sitrep_data(report, incident=incident) for report in page])

    @extend_schema(responses=serializers.JointSitrepOutput)
    @action(detail=True, methods=["get"])
    def sitrep(self, request, id=None):
        """The joint situation report."""
        return Response(selectors.joint_sitrep_read_by(principal=request.user, public_id=id))

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="sitrep/print",
            renderer_classes=[PrintableHTMLRenderer, JSONRenderer])
    def sitrep_print(self, request, id=None):
        """The joint situation report as a printable page."""
        report = selectors.joint_sitrep_printable(principal=request.user, public_id=id)
        html = render_to_string("incidents/joint_sitrep.html", {"report": report}, request=request)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        # A document to print or keep, whole in one file: its own <style> and nothing else (no
        # script, no fetch of any kind), in place of the pages' policy (config.middleware).
        response["Content-Security-Policy"] = PRINTABLE_CSP
        return response


class IncidentBulkApi(APIView):
    """POST /api/v1/incidents/bulk/: up to 500 reports, a JSON array (or {"incidents": [...]}).
    Each gets its own result, in order: 201 created, 200 existing (its external_id was used
    before), or its problem; one bad item does not sink the others."""

    permission_classes = [allows(write=Action.REPORT_INCIDENT)]

    @property
    def max_body_bytes(self) -> int:
        return settings.MAX_BULK_BODY_BYTES

    @extend_schema(request=serializers.IncidentInput(many=True), responses={200: serializers.BulkOutput})
    def post(self, request):
        items = bulk_items(request.data)
        results: list[dict | None] = [None] * len(items)
        accepted: list[tuple[int, dict]] = []
        for index, item in enumerate(items):
            try:
                accepted.append((index, serializers.incident_input(item)))
            except ValidationError as exc:
                results[index] = self._problem(request, index, exc)
        outcomes = services.incident_report_many(actor=request.user, items=[data for _, data in accepted])
        for (index, _), outcome in zip(accepted, outcomes, strict=True):
            if outcome.problem is not None:
                results[index] = self._problem(request, index, outcome.problem)
            else:
                results[index] = {"index": index, "status": 201 if outcome.created else 200, "incident": outcome.data}
        return Response({
            "created": sum(1 for result in results if result["status"] == 201),
            "existing": sum(1 for result in results if result["status"] == 200),
            "failed": sum(1 for result in results if result["status"] >= 400),
            "results": results,
        })

    @staticmethod
    def _problem(request, index: int, exc: Exception) -> dict:
        rendered = problem_exception_handler(exc, {"request": request})
        return {"index": index, "status": rendered.status_code, "problem": rendered.data}


def bulk_items(body) -> list:
    if isinstance(body, dict) and set(body) == {"incidents"}:
        body = body["incidents"]
    if not isinstance(body, list):
        raise ValidationFailed.on("incidents", 'A JSON array of reports (or {"incidents": [...]}).')
    if not body:
        raise ValidationFailed.on("incidents", "No reports.")
    if len(body) > services.MAX_BULK_ITEMS:
        raise PayloadTooLarge(f"{len(body)} reports; at most {services.MAX_BULK_ITEMS} in one request.")
    return body


class IncidentCategoriesApi(APIView):
    """The catalogue: categories (PRC Emergency Response Law) and their types, zh and en."""

    @extend_schema(responses=serializers.CatalogueCategoryOutput(many=True))
    def get(self, request):
        return Response(catalogue_as_data())
