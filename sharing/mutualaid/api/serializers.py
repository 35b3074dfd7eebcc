"""Input serializers shape what callers send (types, with the limits of mutual aid's input
contract, sharing.mutualaid.contract, which the web UI's forms read too; the contract's checks,
called by the services, hold the values and name the field of a bad one); output serializers
describe what the API answers, for the OpenAPI schema. The answers themselves are the dicts of
sharing.mutualaid.payloads, the same the events carry, with withheld fields removed."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.serializers import InstantField, StrictInput
from sharing.mutualaid import catalogue, contract
from sharing.mutualaid.lifecycle import REIMBURSEMENT_STEPS, OfferStatus, ReimbursementStatus, RequestStatus
from sharing.mutualaid.models import Reach, ResourceType

# --- shared pieces ---------------------------------------------------------------------------------


def choice(choices, **kwargs) -> serializers.ChoiceField:
    """A choice field whose enum stays inline in the schema: "status" and "kind" name several
    choice sets across the API, and shared components would merge their descriptions."""
    @extend_schema_field({"type": "string", "enum": [value for value, _ in choices]})
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField(choices=choices, **kwargs)


class LocationOutput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class ContactOutput(serializers.Serializer):
    name = serializers.CharField(max_length=contract.CONTACT_NAME_MAX_LENGTH)
    role = serializers.CharField(max_length=contract.CONTACT_ROLE_MAX_LENGTH, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=contract.CONTACT_PHONE_MAX_LENGTH, required=False, allow_blank=True)


@extend_schema_field({
    "oneOf": [
        {"type": "string", "description": "A place name."},
        {"type": "object", "properties": {"name": {"type": "string"}, "lat": {"type": "number"},
                                          "lon": {"type": "number"}}, "additionalProperties": False},
    ]
})
class LocationInput(serializers.JSONField):
    """A place name, or {"name", "lat", "lon"} (lat and lon together)."""


class ContactsInput(serializers.ListField):
    """At most MAX_CONTACTS; each one is held to the contract by the service (contacts_checked)."""

    child = serializers.DictField()

    def __init__(self, **kwargs):
        # A keyword, not a class attribute: ListField's __init__ sets max_length from its
        # keywords, so a class attribute was never in effect (nor in the OpenAPI document).
        super().__init__(max_length=contract.MAX_CONTACTS, **kwargs)


# --- the catalogue -------------------------------------------------------------------------------------


class ResourceTypeOutput(serializers.ModelSerializer):
    unit_zh = serializers.SerializerMethodField()
    unit_en = serializers.SerializerMethodField()

    class Meta:
        model = ResourceType
        fields = ["code", "kind", "name_zh", "name_en", "unit", "unit_zh", "unit_en", "consumable"]

    def get_unit_zh(self, rtype) -> str:
        return catalogue.units()[rtype.unit].zh

    def get_unit_en(self, rtype) -> str:
        return catalogue.units()[rtype.unit].en


# --- inventories ---------------------------------------------------------------------------------------


class InventoryInput(StrictInput):
    resource_type = serializers.CharField(max_length=contract.RESOURCE_TYPE_MAX_LENGTH)
    on_hand = serializers.IntegerField()
    unit = serializers.CharField(max_length=contract.UNIT_MAX_LENGTH, required=False,
                                 help_text="If given, must be the type's unit.")
    location = LocationInput(required=False)
    contacts = ContactsInput(required=False)
    external_id = serializers.CharField(max_length=contract.EXTERNAL_ID_MAX_LENGTH, required=False, allow_null=True,
                                        allow_blank=True)


@extend_schema_serializer(component_name="InventoryPatch")
class InventoryPatchInput(StrictInput):
    on_hand = serializers.IntegerField(required=False)
    unit = serializers.CharField(max_length=contract.UNIT_MAX_LENGTH, required=False)
    location = LocationInput(required=False)
    contacts = ContactsInput(required=False)


class InventoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    jurisdiction = serializers.CharField()
    resource_type = serializers.CharField()
    unit = serializers.CharField()
    on_hand = serializers.IntegerField()
    committed = serializers.IntegerField(help_text="Reserved by accepted mutual aid until it is back home.")
    available = serializers.IntegerField(help_text="on_hand − committed.")
    location = LocationOutput()
    contacts = ContactOutput(many=True, required=False, help_text="Absent where withheld from the caller.")
    external_id = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class MovementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    quantity = serializers.IntegerField()
    on_hand_change = serializers.IntegerField()
    committed_change = serializers.IntegerField()
    on_hand_after = serializers.IntegerField()
    committed_after = serializers.IntegerField()
    offer = serializers.IntegerField(source="offer_id", allow_null=True)
    actor = serializers.CharField()
    actor_jurisdiction = serializers.CharField()
    note = serializers.CharField()


# --- requests and offers ----------------------------------------------------------------------------------


class RequestInput(StrictInput):
    incident = serializers.CharField(max_length=contract.INCIDENT_ID_MAX_LENGTH, help_text="The incident's public id.")
    resource_type = serializers.CharField(max_length=contract.RESOURCE_TYPE_MAX_LENGTH)
    quantity = serializers.IntegerField()
    unit = serializers.CharField(max_length=contract.UNIT_MAX_LENGTH, required=False,
                                 help_text="If given, must be the type's unit.")
    needed_by = InstantField()
    location = LocationInput(required=False, help_text="Where the resources go; default: the incident's location.")
    description = serializers.CharField(max_length=contract.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    contacts = ContactsInput(required=False)


class OfferInput(StrictInput):
    quantity = serializers.IntegerField()
    inventory = serializers.IntegerField(required=False, help_text="Default: your inventory of the type with the "
                                                                  "most available.")
    note = serializers.CharField(max_length=contract.NOTE_MAX_LENGTH, required=False, allow_blank=True)


class AcceptInput(StrictInput):
    quantity = serializers.IntegerField(required=False, help_text="Default: all that was offered.")


class MoveInput(StrictInput):
    offer = serializers.IntegerField(required=False, help_text="Only this commitment; default: every one of the "
                                                               "request you are party to that can make the step.")
    note = serializers.CharField(max_length=contract.NOTE_MAX_LENGTH, required=False, allow_blank=True)


class CancelInput(StrictInput):
    reason = serializers.CharField(max_length=contract.REASON_MAX_LENGTH, required=False, allow_blank=True)


class ReimbursementInput(StrictInput):
    action = choice([(name, name) for name in REIMBURSEMENT_STEPS])
    amount = serializers.DecimalField(max_digits=contract.AMOUNT_MAX_DIGITS,
                                      decimal_places=contract.AMOUNT_DECIMAL_PLACES)
    currency = serializers.CharField(max_length=contract.CURRENCY_LENGTH, required=False,
                                     help_text="ISO 4217, on the claim (default CNY).")
    note = serializers.CharField(max_length=contract.NOTE_MAX_LENGTH, required=False, allow_blank=True)


class ReimbursementOutput(serializers.Serializer):
    status = choice(ReimbursementStatus.choices)
    currency = serializers.CharField()
    claimed_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    approved_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField()
    jurisdiction = serializers.CharField()
    inventory = serializers.IntegerField()
    quantity = serializers.IntegerField()
    committed_quantity = serializers.IntegerField()
    status = choice(OfferStatus.choices)
    note = serializers.CharField()
    offered_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    reimbursement = ReimbursementOutput(allow_null=True, help_text="Once the offer is a commitment.")


class ResourceRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField(required=False, help_text="Absent for a caller who may not see the incident.")
    requester = serializers.CharField()
    cluster = serializers.CharField()
    resource_type = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.IntegerField()
    accepted_quantity = serializers.IntegerField()
    remaining = serializers.IntegerField()
    needed_by = serializers.DateTimeField()
    location = LocationOutput(required=False, help_text="Where the resources go: the place the requester named, "
                                                        "else the incident's location (absent for a caller who "
                                                        "may not see the incident).")
    description = serializers.CharField()
    contacts = ContactOutput(many=True, required=False, help_text="Absent where withheld from the caller.")
    status = choice(RequestStatus.choices)
    reach = choice(Reach.choices)
    recipients = serializers.ListField(child=serializers.CharField(), help_text="Where the request was sent.")
    exercise = serializers.BooleanField()
    requested_by = serializers.CharField()
    offers = OfferOutput(many=True, help_text="The offers the caller may see: all of them for the requester, "
                                              "its own for an offerer.")
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
