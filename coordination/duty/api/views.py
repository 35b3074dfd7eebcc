"""The duty roster endpoints (docs/api.md, "Duty rosters"; docs/rosters.md): thin callers of
coordination.duty's selectors, services and iCalendar module.

Who sees a roster is selectors.rosters_visible_to (404 for the others); who edits it and reads
its calendar export is selectors.may_manage (403 for those who see it but may not)."""

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.serializers import InstantField, validated
from coordination.duty import ical, selectors, services
from coordination.duty.api import parsers
from coordination.duty.api.serializers import (
    ImportResultOutput,
    OnDutyOutput,
    OverrideInput,
    OverrideOutput,
    RosterOutput,
    ShiftInput,
    ShiftOutput,
    SwapInput,
)
from coordination.duty.models import Roster
from coordination.permissions import allows
from coordination.roles import Action

_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json).")


class AtQuery(serializers.Serializer):
    at = InstantField(required=False)


class RangeQuery(serializers.Serializer):
    after = InstantField(required=False)
    before = InstantField(required=False)


_RANGE = [OpenApiParameter("after", OpenApiTypes.DATETIME, description="Only those that end after this time."),
          OpenApiParameter("before", OpenApiTypes.DATETIME, description="Only shifts that start before this time.")]


class RosterViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Duty rosters the caller may see, their shifts and overrides, and who is on duty."""

    serializer_class = RosterOutput
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_ROSTERS)]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no caller
            return Roster.objects.none()
        return selectors.rosters_visible_to(principal=self.request.user).order_by("id")

    def _roster(self, pk) -> Roster:
        return selectors.roster_get(principal=self.request.user, roster_id=pk)

    @extend_schema(responses={200: RosterOutput, 404: _PROBLEM})
    def retrieve(self, request, pk=None):
        return Response(RosterOutput(self._roster(pk)).data)

    @extend_schema(methods=["GET"], parameters=_RANGE, responses={200: ShiftOutput(many=True), 404: _PROBLEM},
                   description="The roster's shifts in order (a page), those that end after `after` and start "
                               "before `before` when given.")
    @extend_schema(methods=["POST"], request=ShiftInput,
                   responses={201: ShiftOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
                   description="A new shift: the primary and the backups are usernames of officers of the "
                               "roster's jurisdiction (or seated on its body). 409 when it overlaps another.")
    @action(detail=True, methods=["get", "post"], serializer_class=ShiftOutput)
    def shifts(self, request, pk=None):
        roster = self._roster(pk)
        if request.method == "POST":
            data = validated(ShiftInput, request.data)
            shift = services.shift_create(actor=request.user, roster=roster, **data)
            return Response(ShiftOutput(shift).data, status=status.HTTP_201_CREATED)
        span = validated(RangeQuery, request.query_params)
        page = self.paginate_queryset(selectors.shifts_of(roster, **span))
        return self.get_paginated_response(ShiftOutput(page, many=True).data)

    @extend_schema(methods=["GET"], parameters=_RANGE[:1],
                   responses={200: OverrideOutput(many=True), 404: _PROBLEM},
                   description="The roster's overrides in order (a page), those that end after `after` when given.")
    @extend_schema(methods=["POST"], request=OverrideInput,
                   responses={201: OverrideOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM},
                   description="`substitute` takes `replaced`'s place, whatever it is, from `starts_at` to `ends_at`.")
    @action(detail=True, methods=["get", "post"], serializer_class=OverrideOutput)
    def overrides(self, request, pk=None):
        roster = self._roster(pk)
        if request.method == "POST":
            data = validated(OverrideInput, request.data)
            override = services.override_create(actor=request.user, roster=roster, **data)
            return Response(OverrideOutput(override).data, status=status.HTTP_201_CREATED)
        span = validated(RangeQuery, request.query_params)
        page = self.paginate_queryset(selectors.overrides_of(roster, after=span.get("after")))
        return self.get_paginated_response(OverrideOutput(page, many=True).data)

    @extend_schema(request=SwapInput,
                   responses={201: OverrideOutput(many=True), 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM},
                   description="Two people trade places: `first` takes `second`'s place on the second shift and "
                               "`second` takes `first`'s on the first (two overrides of reason `swap`).")
    @action(detail=True, methods=["post"], serializer_class=OverrideOutput, pagination_class=None)
    def swaps(self, request, pk=None):
        roster = self._roster(pk)
        data = validated(SwapInput, request.data)
        pair = services.swap_record(actor=request.user, roster=roster, **data)
        return Response(OverrideOutput(pair, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="Default: now.")],
                   responses={200: OnDutyOutput, 404: _PROBLEM},
                   description="Who is on duty at `at`, in the order they are called: the primary, then the "
                               "backups, overrides applied (docs/rosters.md). Names only, no contact details.")
    @action(detail=True, methods=["get"], url_path="on-duty", url_name="on-duty", serializer_class=OnDutyOutput,
            pagination_class=None)
    def on_duty(self, request, pk=None):
        roster = self._roster(pk)
        at = validated(AtQuery, request.query_params).get("at") or timezone.now()
        people = selectors.on_duty(roster, at)
        return Response(OnDutyOutput({
            "roster": roster.pk, "at": at, "time_zone": selectors.roster_zone(roster).key,
            "on_duty": [vars(person) for person in people],
        }).data)


class RosterCalendarApi(APIView):
    """GET and POST /api/v1/rosters/{id}/calendar.ics: the roster as iCalendar, both ways."""

    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_ROSTERS)]

    def get_parsers(self):
        return [parsers.CalendarParser()]

    def get_renderers(self):
        # The export is a calendar; what an import answers is JSON.
        request = getattr(self, "request", None)
        if request is not None and request.method == "POST":
            return [JSONRenderer()]
        return [parsers.CalendarRenderer()]

    @extend_schema(operation_id="roster_calendar_export",
                   responses={(200, parsers.CALENDAR_MEDIA_TYPE): OpenApiTypes.BINARY, 403: _PROBLEM, 404: _PROBLEM},
                   description="The roster as a VCALENDAR (RFC 5545): a VEVENT per shift that ended in the last 30 "
                               "days or later, times in the cluster's zone, the primary an ATTENDEE with ROLE=CHAIR, "
                               "the backups REQ-PARTICIPANT. It carries e-mail addresses: only those who manage the "
                               "roster read it (403 for the others who see the roster), and each read is audited.")
    def get(self, request, pk):
        roster = selectors.roster_get(principal=request.user, roster_id=pk)
        document = ical.roster_calendar(actor=request.user, roster=roster)
        return Response(document, headers={"Content-Disposition": f'attachment; filename="roster-{roster.pk}.ics"'})

    @extend_schema(operation_id="roster_calendar_import", request={parsers.CALENDAR_MEDIA_TYPE: OpenApiTypes.BINARY},
                   responses={200: ImportResultOutput, 400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM,
                              409: _PROBLEM},
                   description="Imports a VCALENDAR (ours, or another calendar tool's) into the roster, idempotent by "
                               "UID; recurring events are expanded over the next 90 days (docs/rosters.md). Unknown "
                               "people are a 400, overlapping shifts a 409; nothing is written then.")
    def post(self, request, pk):
        roster = selectors.roster_get(principal=request.user, roster_id=pk)
        document = request.data
        if not isinstance(document, bytes):
            raise parsers.ParseError(gettext("The request body is empty; an iCalendar document was expected."))
        result = ical.roster_import(actor=request.user, roster=roster, document=document)
        return Response(ImportResultOutput(vars(result)).data)
