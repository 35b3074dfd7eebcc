"""/api/v1/webhook-subscriptions/: an API client's webhook subscriptions and their delivery logs.

Each client manages its own (another client's is a 404; officers have none). The secret comes
back once, when the subscription is made or its secret rotated. Rules: sharing.webhooks.services.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.serializers import StrictInput, validated
from coordination.permissions import allows
from coordination.roles import Action
from sharing.models import Level
from sharing.webhooks import selectors, services
from sharing.webhooks.models import Delivery, DeliveryState, Subscription

# --- serializers -------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Filter")
class FilterInput(StrictInput):
    """Narrows what is delivered, as the stream's `filter` action; an absent key is no condition."""

    categories = serializers.ListField(child=serializers.CharField(max_length=32), required=False, allow_null=True,
                                       max_length=100)
    level_at_least = serializers.ChoiceField(choices=Level.choices, required=False, allow_null=True)
    jurisdictions = serializers.ListField(child=serializers.CharField(max_length=6), required=False,
                                          allow_null=True, max_length=100)


class SubscriptionOutput(serializers.ModelSerializer):
    filters = FilterInput()
    events = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Subscription
        fields = ["id", "url", "description", "events", "filters", "is_active", "consecutive_failures",
                  "failing_since", "last_success_at", "last_failure_at", "disabled_at", "disabled_reason",
                  "previous_secret_until", "created_at", "updated_at"]


class SubscriptionWithSecretOutput(SubscriptionOutput):
    secret = serializers.CharField(help_text="Shown this once. HMAC-SHA256 key of Liandong-Signature.")

    class Meta(SubscriptionOutput.Meta):
        fields = [*SubscriptionOutput.Meta.fields, "secret"]


class SubscriptionInput(StrictInput):
    url = serializers.CharField(max_length=2000, help_text="http(s); it must not lead to a private address.")
    events = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=100,
                                   help_text='Event names, "domain.*" (e.g. "incident.*") or "*".')
    filters = FilterInput(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema_serializer(component_name="SubscriptionUpdate")
class SubscriptionUpdateInput(SubscriptionInput):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=100,
                                   required=False)
    is_active = serializers.BooleanField(required=False,
                                         help_text="false pauses it; true resumes one paused or disabled.")


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "event_seq", "event_name", "state", "attempts", "next_attempt_at", "last_attempt_at",
                  "last_status_code", "last_error", "history", "delivered_at", "created_at"]


class DeliveryQueryInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=DeliveryState.values, required=False)


# --- the view ---------------------------------------------------------------------------------


class WebhookSubscriptionViewSet(viewsets.GenericViewSet):
    permission_classes = [allows(read=Action.READ, write=Action.READ)]
    serializer_class = SubscriptionOutput
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return Subscription.objects.none()
        return selectors.subscription_list(actor=self.request.user)

    def get_object(self):
        return selectors.subscription_get(actor=self.request.user, subscription_id=self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SubscriptionOutput(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(SubscriptionOutput(self.get_object()).data)

    @extend_schema(request=SubscriptionInput, responses={201: SubscriptionWithSecretOutput})
    def create(self, request):
        data = validated(SubscriptionInput, request.data)
        subscription, secret = services.subscription_create(actor=request.user, **data)
        subscription.secret = secret
        return Response(SubscriptionWithSecretOutput(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionUpdateInput, responses=SubscriptionOutput)
    def partial_update(self, request, pk=None):
        data = validated(SubscriptionUpdateInput, request.data, partial=True)
        subscription = services.subscription_update(actor=request.user, subscription_id=pk, **data)
        return Response(SubscriptionOutput(subscription).data)

    def destroy(self, request, pk=None):
        services.subscription_delete(actor=request.user, subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SubscriptionWithSecretOutput)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription, secret = services.subscription_rotate_secret(actor=request.user, subscription_id=pk)
        subscription.secret = secret
        return Response(SubscriptionWithSecretOutput(subscription).data)

    @extend_schema(parameters=[OpenApiParameter("state", enum=DeliveryState.values)],
                   responses=DeliveryOutput(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        query = validated(DeliveryQueryInput, request.query_params)
        deliveries = selectors.delivery_list(actor=request.user, subscription_id=pk,
                                             state=query.get("state"))
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)
