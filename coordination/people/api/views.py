"""The contact-method endpoints (docs/people.md, "Where"): thin callers
of coordination.people's selectors and services.

Officers only: an API client gets 403 (a city system does not speak for people). Under /me/ an
officer reads and writes their own; /people/{user_id}/contact-methods/ reads someone else's for
those the visibility rule lets see them (404 for the others), each read audited."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.schema import PROBLEM
from config.serializers import validated
from coordination.people import selectors, services
from coordination.people.api.serializers import (
    ContactMethodChangeInput,
    ContactMethodInput,
    ContactMethodOutput,
    OrderInput,
    PolicyInput,
    PolicyOutput,
)
from coordination.principals import Principal


class IsOfficer(BasePermission):
    message = _("Contact methods are people's own: only officers use these endpoints, not API clients.")

    def has_permission(self, request, view):
        return isinstance(request.user, Principal) and request.user.is_officer


class _Officers(APIView):
    permission_classes = [IsOfficer]
    pagination_class = None


def _policy_data(user_id: int) -> dict:
    policy = selectors.policy_of(user_id)
    return {"quiet_start": policy.quiet_start, "quiet_end": policy.quiet_end, "time_zone": policy.zone.key,
            "time_zone_is_default": policy.zone_is_default}


class MyContactMethods(_Officers):
    @extend_schema(operation_id="my_contact_methods_list", responses={200: ContactMethodOutput(many=True)},
                   description="The caller's contact methods, active or not, in the order they are tried.")
    def get(self, request):
        methods = selectors.all_contact_methods_of(request.user.user_id)
        return Response(ContactMethodOutput(methods, many=True).data)

    @extend_schema(operation_id="my_contact_methods_create", request=ContactMethodInput,
                   responses={201: ContactMethodOutput, 409: PROBLEM},
                   description="A new contact method, tried after the others. 409 when the same channel and "
                               "address is already on the list.")
    def post(self, request):
        data = validated(ContactMethodInput, request.data)
        method = services.contact_add(actor=request.user, officer=request.user.user_id, **data)
        return Response(ContactMethodOutput(method).data, status=status.HTTP_201_CREATED)


class MyContactMethod(_Officers):
    @extend_schema(operation_id="my_contact_method_retrieve", responses={200: ContactMethodOutput})
    def get(self, request, pk):
        return Response(ContactMethodOutput(services.contact_get(actor=request.user, contact_id=pk)).data)

    @extend_schema(operation_id="my_contact_method_update", request=ContactMethodChangeInput,
                   responses={200: ContactMethodOutput, 409: PROBLEM},
                   description="Change the address, secret, label, wait or whether it is used; the channel is fixed.")
    def patch(self, request, pk):
        method = services.contact_get(actor=request.user, contact_id=pk)
        data = validated(ContactMethodChangeInput, request.data)
        method = services.contact_update(actor=request.user, contact=method, **data)
        return Response(ContactMethodOutput(method).data)

    @extend_schema(operation_id="my_contact_method_destroy",
                   responses={204: OpenApiResponse(description="Removed; the others move up.")})
    def delete(self, request, pk):
        method = services.contact_get(actor=request.user, contact_id=pk)
        services.contact_remove(actor=request.user, contact=method)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyContactOrder(_Officers):
    @extend_schema(operation_id="my_contact_methods_order", request=OrderInput,
                   responses={200: ContactMethodOutput(many=True)},
                   description="Put the caller's contact methods in a new order: every id once.")
    def post(self, request):
        data = validated(OrderInput, request.data)
        methods = services.contacts_reorder(actor=request.user, officer=request.user.user_id, ids=data["ids"])
        return Response(ContactMethodOutput(methods, many=True).data)


class MyNotificationPolicy(_Officers):
    @extend_schema(operation_id="my_notification_policy_retrieve", responses={200: PolicyOutput},
                   description="The caller's quiet hours (null: none) and the zone they are read in. Acknowledgement "
                               "requests, escalations and notices of level I–III incidents ignore them.")
    def get(self, request):
        return Response(PolicyOutput(_policy_data(request.user.user_id)).data)

    @extend_schema(operation_id="my_notification_policy_update", request=PolicyInput,
                   responses={200: PolicyOutput},
                   description="Set the quiet hours: both times or both null; time_zone empty for the cluster's.")
    def put(self, request):
        data = validated(PolicyInput, request.data)
        services.policy_set(actor=request.user, officer=request.user.user_id, **data)
        return Response(PolicyOutput(_policy_data(request.user.user_id)).data)


class OfficerContactMethods(_Officers):
    @extend_schema(operation_id="officer_contact_methods_list",
                   responses={200: ContactMethodOutput(many=True)},
                   description="Another officer's contact methods, for the officer, the commanders of their "
                               "jurisdiction and the coordinators of its clusters (404 for anyone else; sharing "
                               "agreements never grant them). Every read of someone else's is audited.")
    def get(self, request, user_id):
        methods = selectors.contacts_visible_to(principal=request.user, officer=user_id)
        return Response(ContactMethodOutput(methods, many=True).data)
