"""The mutual-aid API: the catalogue, inventories, requests, offers and the lifecycle's actions.

Thin: parse with an input serializer, call one service or selector, answer its data. Reads go
through sharing.mutualaid.selectors, so the visibility rule is applied there, not here.
"""

import json

import django_filters
from django.db.models import F
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from config.filters import InstantFilter
from config.schema import PROBLEM
from config.serializers import validated
from coordination.permissions import allows
from coordination.roles import Action
from incidents.selectors import jurisdiction_names
from sharing.mutualaid import edxl, selectors
from sharing.mutualaid.api import serializers
from sharing.mutualaid.catalogue import ResourceKind
from sharing.mutualaid.lifecycle import ACCEPT, CANCEL_PERMISSION, STEPS, RequestStatus
from sharing.mutualaid.models import Inventory, ResourceRequest, ResourceType
from sharing.mutualaid.payloads import inventory_data, offer_data
from sharing.mutualaid.services.inventories import inventory_update, inventory_upsert
from sharing.mutualaid.services.offers import commitment_move, offer_accept, offer_create
from sharing.mutualaid.services.reimbursements import reimbursement_record
from sharing.mutualaid.services.requests import resource_request_cancel, resource_request_create, resource_request_widen

# --- the catalogue ---------------------------------------------------------------------------------


class ResourceTypeFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ResourceKind.choices)

    class Meta:
        model = ResourceType
        fields = ["kind"]


class ResourceTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """GET /api/v1/resource-types/: the resource catalogue."""

    serializer_class = serializers.ResourceTypeOutput
    filterset_class = ResourceTypeFilter
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9_]+"

    def get_queryset(self):
        return selectors.resource_type_list()

    def get_object(self):
        return selectors.resource_type_get(code=self.kwargs["code"])


# --- inventories ---------------------------------------------------------------------------------------


class InventoryFilter(django_filters.FilterSet):
    jurisdiction = django_filters.CharFilter(field_name="jurisdiction_id")
    resource_type = django_filters.CharFilter(field_name="resource_type_id")
    kind = django_filters.ChoiceFilter(field_name="resource_type__kind", choices=ResourceKind.choices)
    available_at_least = django_filters.NumberFilter(method="filter_available", min_value=0)
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = Inventory
        fields = ["jurisdiction", "resource_type", "kind", "available_at_least", "updated_since"]

    def filter_available(self, queryset, name, value):
        return queryset.alias(free=F("on_hand") - F("committed")).filter(free__gte=value)


class InventoryViewSet(viewsets.GenericViewSet):
    """A jurisdiction's stock of one resource type; idempotent by `external_id`."""

    filterset_class = InventoryFilter
    serializer_class = serializers.InventoryOutput
    permission_classes = [allows(read=Action.READ, write=Action.WRITE_RESOURCES)]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no caller
            return Inventory.objects.none()
        return selectors.inventory_list_visible_to(principal=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(selectors.inventories_read_by(principal=request.user, inventories=page))

    def retrieve(self, request, pk=None):
        return Response(selectors.inventory_read_by(principal=request.user, inventory_id=pk))

    @extend_schema(request=serializers.InventoryInput,
                   responses={201: serializers.InventoryOutput, 200: serializers.InventoryOutput,
                              409: PROBLEM},
                   description="Records stock; an `external_id` this jurisdiction used before updates that "
                               "inventory instead (200).")
    def create(self, request):
        data = validated(serializers.InventoryInput, request.data)
        outcome = inventory_upsert(actor=request.user, jurisdiction=request.user.jurisdiction, data=data)
        return Response(inventory_data(outcome.inventory),
                        status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)

    @extend_schema(request=serializers.InventoryPatchInput,
                   responses={200: serializers.InventoryOutput, 409: PROBLEM})
    def partial_update(self, request, pk=None):
        data = validated(serializers.InventoryPatchInput, request.data, partial=True)
        outcome = inventory_update(actor=request.user, inventory_id=pk, data=data)
        return Response(inventory_data(outcome.inventory))

    @extend_schema(responses={200: serializers.MovementOutput(many=True)},
                   description="The inventory's ledger: every movement of quantity, oldest first.")
    @action(detail=True, methods=["get"])
    def movements(self, request, pk=None):
        movements = selectors.inventory_movements_read_by(principal=request.user, inventory_id=pk)
        page = self.paginate_queryset(movements)
        return self.get_paginated_response(serializers.MovementOutput(page, many=True).data)


# --- requests ------------------------------------------------------------------------------------------


class ResourceRequestFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__public_id")
    requester = django_filters.CharFilter(field_name="requester_id")
    recipient = django_filters.CharFilter(method="filter_recipient", help_text="Sent to this jurisdiction.")
    resource_type = django_filters.CharFilter(field_name="resource_type_id")
    status = django_filters.MultipleChoiceFilter(choices=RequestStatus.choices)
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = ResourceRequest
        fields = ["incident", "requester", "recipient", "resource_type", "status", "updated_since"]

    def filter_recipient(self, queryset, name, value):
        return queryset.filter(recipients__jurisdiction_id=value).distinct()


class EdxlRenderer(BaseRenderer):
    """The EDXL-RM thread as XML; an error on that path stays problem details (JSON)."""

    media_type = "application/xml"
    format = "xml"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()


move_schema = extend_schema(request=serializers.MoveInput,
                            responses={200: serializers.ResourceRequestOutput, 409: PROBLEM})


class ResourceRequestViewSet(viewsets.GenericViewSet):
    """Mutual-aid requests (EDXL-RM / EMAC): offers, acceptance and the lifecycle's actions."""

    filterset_class = ResourceRequestFilter
    serializer_class = serializers.ResourceRequestOutput
    permission_classes = [allows(
        read=Action.READ, write=Action.WRITE_RESOURCES, accept=ACCEPT.permission, cancel=CANCEL_PERMISSION,
        dispatch_=STEPS["dispatch"].permission, arrive=STEPS["arrive"].permission,
        release=STEPS["release"].permission, return_=STEPS["return"].permission,
    )]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ResourceRequest.objects.none()
        return selectors.request_list_visible_to(principal=self.request.user)

    def _answer(self, request, pk, code=status.HTTP_200_OK):
        return Response(selectors.request_read_by(principal=request.user, request_id=pk), status=code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(selectors.requests_read_by(principal=request.user, requests=page))

    def retrieve(self, request, pk=None):
        return self._answer(request, pk)

    @extend_schema(request=serializers.RequestInput,
                   responses={201: serializers.ResourceRequestOutput, 409: PROBLEM})
    def create(self, request):
        data = validated(serializers.RequestInput, request.data)
        made = resource_request_create(actor=request.user, data=data)
        return self._answer(request, made.pk, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: serializers.OfferOutput(many=True)})
    @extend_schema(methods=["POST"], request=serializers.OfferInput,
                   responses={201: serializers.OfferOutput, 409: PROBLEM})
    @action(detail=True, methods=["get", "post"])
    def offers(self, request, pk=None):
        if request.method == "GET":  # a page, as every list
            offers = selectors.request_read_by(principal=request.user, request_id=pk)["offers"]
            return self.get_paginated_response(self.paginate_queryset(offers))
        data = validated(serializers.OfferInput, request.data)
        offer = offer_create(actor=request.user, request_id=pk, data=data)
        return Response(offer_data(offer, cluster=offer.request.cluster_id), status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.AcceptInput,
                   responses={200: serializers.OfferOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"], url_path=r"offers/(?P<offer_id>[0-9]+)/accept")
    def accept(self, request, pk=None, offer_id=None):
        data = validated(serializers.AcceptInput, request.data)
        offer = offer_accept(actor=request.user, request_id=pk, offer_id=offer_id,
                             quantity=data.get("quantity"))
        return Response(offer_data(offer, cluster=offer.request.cluster_id))

    @extend_schema(request=serializers.ReimbursementInput,
                   responses={200: serializers.OfferOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"], url_path=r"offers/(?P<offer_id>[0-9]+)/reimbursement")
    def reimbursement(self, request, pk=None, offer_id=None):
        data = validated(serializers.ReimbursementInput, request.data)
        offer = reimbursement_record(actor=request.user, request_id=pk, offer_id=offer_id, **data)
        return Response(offer_data(offer, cluster=offer.request.cluster_id))

    def _move(self, request, pk, step: str):
        data = validated(serializers.MoveInput, request.data)
        commitment_move(actor=request.user, request_id=pk, action=step,
                        offer_id=data.get("offer"), note=data.get("note", ""))
        return self._answer(request, pk)

    @move_schema
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_(self, request, pk=None):
        return self._move(request, pk, "dispatch")

    @move_schema
    @action(detail=True, methods=["post"])
    def arrive(self, request, pk=None):
        return self._move(request, pk, "arrive")

    @move_schema
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._move(request, pk, "release")

    @move_schema
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._move(request, pk, "return")

    @extend_schema(request=serializers.CancelInput,
                   responses={200: serializers.ResourceRequestOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(serializers.CancelInput, request.data)
        resource_request_cancel(actor=request.user, request_id=pk, **data)
        return self._answer(request, pk)

    @extend_schema(request=None, responses={200: serializers.ResourceRequestOutput, 409: PROBLEM},
                   description="Sends the request beyond the neighbours, to the whole cluster.")
    @action(detail=True, methods=["post"])
    def widen(self, request, pk=None):
        resource_request_widen(actor=request.user, request_id=pk)
        return self._answer(request, pk)

    @extend_schema(responses={(200, "application/xml"): OpenApiResponse(
        OpenApiTypes.STR, description="An EDXL-DE 1.0 distribution of the request's EDXL-RM 1.0 messages.")})
    @action(detail=True, methods=["get"], url_path="edxl-rm", renderer_classes=[EdxlRenderer, JSONRenderer])
    def edxl_rm(self, request, pk=None):
        thread, data, messages = selectors.request_thread_read_by(principal=request.user, request_id=pk)
        senders = jurisdiction_names({message.sender_id for message in messages})
        names = {code: f"{name['zh']} {name['en']}" for code, name in senders.items()}
        document = edxl.thread_document(thread, messages, data=data, names=names)
        return Response(document, content_type="application/xml")
