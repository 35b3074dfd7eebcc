"""What the contact-method endpoints read and write. A method's `secret` is write-only: an
answer says only whether one is set (`has_secret`). Limits are coordination.people.contract's,
which the services check again (with the officer's region for numbers)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from config.serializers import StrictInput
from coordination.people import contract
from coordination.people.models import Channel, ContactMethod


class ContactMethodOutput(serializers.ModelSerializer):
    has_secret = serializers.SerializerMethodField()
    address = serializers.CharField(help_text="An e-mail address, an E.164 number, a robot's webhook URL, or a "
                                              "web push subscription as compact JSON.")

    class Meta:
        model = ContactMethod
        fields = ["id", "channel", "address", "label", "position", "wait_minutes", "active", "has_secret",
                  "created_at"]

    def get_has_secret(self, method) -> bool:
        return bool(method.secret)


_ADDRESS_HELP = ("email: an address; sms: a number (E.164, or local to the officer's region: +86 by default, "
                 "+852/+853 for Hong Kong and Macao officers); wecom, dingtalk, feishu: the robot's https webhook "
                 "URL; webpush: the browser's PushSubscription (an object, or its JSON text).")


@extend_schema_serializer(component_name="ContactMethodChange")
class ContactMethodChangeInput(StrictInput):
    address = serializers.JSONField(required=False, help_text=_ADDRESS_HELP)
    secret = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=True,
                                   max_length=contract.SECRET_MAX_LENGTH,
                                   help_text="A DingTalk or Feishu robot's signing secret. Never answered.")
    label = serializers.CharField(required=False, allow_blank=True, max_length=contract.LABEL_MAX_LENGTH)
    wait_minutes = serializers.IntegerField(required=False, min_value=0, max_value=contract.WAIT_MINUTES_MAX,
                                            help_text="Minutes to wait for an answer before the next method.")
    active = serializers.BooleanField(required=False)


@extend_schema_serializer(component_name="ContactMethodInput")  # not the parent's
class ContactMethodInput(ContactMethodChangeInput):
    channel = serializers.ChoiceField(choices=Channel.choices)
    address = serializers.JSONField(help_text=_ADDRESS_HELP)


class OrderInput(StrictInput):
    ids = serializers.ListField(child=serializers.IntegerField(), max_length=contract.MAX_METHODS, allow_empty=True,
                                help_text="Every one of the officer's contact method ids, once, in the new order.")


class PolicyOutput(serializers.Serializer):
    quiet_start = serializers.TimeField(allow_null=True, help_text="Local time the quiet hours start, or null.")
    quiet_end = serializers.TimeField(allow_null=True, help_text="Local time they end (earlier: the next day).")
    time_zone = serializers.CharField(help_text="The zone the times are read in.")
    time_zone_is_default = serializers.BooleanField(help_text="True when it is the officer's cluster's zone.")


class PolicyInput(StrictInput):
    quiet_start = serializers.TimeField(allow_null=True)
    quiet_end = serializers.TimeField(allow_null=True)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                      help_text="An IANA zone; empty or left out: the officer's cluster's.")
