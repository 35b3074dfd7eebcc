"""GET /api/v1/events/?since=&limit= (docs/api.md, "Event log"): the stream's events, for systems that poll."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.serializers import validated
from coordination.permissions import allows
from coordination.roles import Action
from sharing.stream.selectors import event_log_page

MAX_LIMIT = 1000


class EventLogQueryInput(serializers.Serializer):
    since = serializers.IntegerField(min_value=0, max_value=2**62, default=0,
                                     help_text="Events with a greater seq (the last seq you saw).")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=100)


class EventMessageOutput(serializers.Serializer):
    """One event as the stream sends it."""

    type = serializers.ChoiceField(choices=["event"])
    seq = serializers.IntegerField()
    event = serializers.CharField(help_text="The event name, e.g. incident.created.")
    at = serializers.DateTimeField()
    cluster = serializers.CharField()
    data = serializers.DictField(help_text="The payload, without the fields withheld from the caller.")


class EventLogPageOutput(serializers.Serializer):
    results = EventMessageOutput(many=True)
    next_since = serializers.IntegerField(
        help_text="The `since` of your next request; it also moves past events you may not see.")
    next = serializers.URLField(allow_null=True, help_text="The next page when this one was full, else null.")


class EventLogApi(APIView):
    permission_classes = [allows(read=Action.READ)]

    @extend_schema(parameters=[EventLogQueryInput], responses=EventLogPageOutput,
                   summary="Events the caller may see after a seq, oldest first")
    def get(self, request):
        query = validated(EventLogQueryInput, request.query_params)
        since, limit = query["since"], query["limit"]
        page = event_log_page(principal=request.user, since=since, limit=limit)
        following = None
        if page.more:
            following = request.build_absolute_uri(f"{request.path}?since={page.next_since}&limit={limit}")
        return Response({"results": page.results, "next_since": page.next_since, "next": following})
