"""What `GET /api/v1/notifications/` answers: one object per recipient and channel."""

from rest_framework import serializers

from coordination.duty.selectors import display_name
from coordination.notify.lifecycle import State
from coordination.people.models import Channel


class NotificationOutput(serializers.Serializer):
    """The address is present only for a reader who may see the recipient's contact details
    (coordination.people's rule); for anyone else it is null."""

    id = serializers.UUIDField()
    incident = serializers.CharField(source="incident.public_id")
    acknowledgement = serializers.UUIDField(source="acknowledgement_id", allow_null=True)
    recipient = serializers.SerializerMethodField()
    jurisdiction = serializers.CharField(source="jurisdiction_id", allow_null=True)
    body = serializers.CharField(source="body_id", allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    address = serializers.SerializerMethodField()
    rank = serializers.IntegerField(help_text="The recipient's place on duty (0: the primary).")
    position = serializers.IntegerField(help_text="The channel's place in the recipient's plan.")
    state = serializers.ChoiceField(choices=State.choices)
    attempts = serializers.IntegerField()
    error_code = serializers.CharField()
    not_before = serializers.DateTimeField()
    queued_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)

    def get_recipient(self, row) -> str:
        return display_name(row.recipient)

    def get_address(self, row) -> str | None:
        return row.address if row.recipient_id in self.context.get("addresses_of", ()) else None
