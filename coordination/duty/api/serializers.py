"""What the roster endpoints read and write. People appear by username and display name only:
contact details are not given here (the calendar export, for those who manage the roster, is
where e-mail addresses are)."""

from rest_framework import serializers

from config.serializers import InstantField, StrictInput
from coordination.duty.models import Override, Roster, Shift
from coordination.duty.selectors import display_name, roster_zone
from coordination.duty.services import MAX_BACKUPS


class PersonField(serializers.Field):
    def to_representation(self, user):
        return {"username": user.username, "name": display_name(user)}


class PersonOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()


class RosterOutput(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction_id", allow_null=True)
    body = serializers.CharField(source="body_id", allow_null=True)
    time_zone = serializers.SerializerMethodField()

    class Meta:
        model = Roster
        fields = ["id", "name", "jurisdiction", "body", "time_zone"]

    def get_time_zone(self, roster) -> str:
        return roster_zone(roster).key


class ShiftOutput(serializers.ModelSerializer):
    primary = serializers.SerializerMethodField()
    backups = serializers.SerializerMethodField()

    class Meta:
        model = Shift
        fields = ["uid", "starts_at", "ends_at", "primary", "backups", "note"]

    def get_primary(self, shift) -> PersonOutput:
        return PersonField().to_representation(shift.primary)

    def get_backups(self, shift) -> PersonOutput(many=True):
        return [PersonField().to_representation(backup.user) for backup in shift.backups.all()]


class ShiftInput(StrictInput):
    starts_at = InstantField()
    ends_at = InstantField()
    primary = serializers.CharField(max_length=150, help_text="The username of the officer on duty first.")
    backups = serializers.ListField(child=serializers.CharField(max_length=150), required=False,
                                    max_length=MAX_BACKUPS, help_text="Usernames, in the order they are called.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OverrideOutput(serializers.ModelSerializer):
    replaced = serializers.SerializerMethodField()
    substitute = serializers.SerializerMethodField()

    class Meta:
        model = Override
        fields = ["id", "starts_at", "ends_at", "replaced", "substitute", "reason", "note", "created_at"]

    def get_replaced(self, override) -> PersonOutput:
        return PersonField().to_representation(override.replaced)

    def get_substitute(self, override) -> PersonOutput:
        return PersonField().to_representation(override.substitute)


class OverrideInput(StrictInput):
    starts_at = InstantField()
    ends_at = InstantField()
    replaced = serializers.CharField(max_length=150)
    substitute = serializers.CharField(max_length=150)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SwapInput(StrictInput):
    first_shift = serializers.CharField(max_length=255, help_text="The uid of the first shift.")
    first = serializers.CharField(max_length=150, help_text="The username of who stands on the first shift.")
    second_shift = serializers.CharField(max_length=255)
    second = serializers.CharField(max_length=150)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OnDutyPersonOutput(serializers.Serializer):
    position = serializers.IntegerField(help_text="0 the primary, then the backups in order.")
    username = serializers.CharField()
    name = serializers.CharField()
    stands_in_for = serializers.CharField(allow_null=True, help_text="Whom an override replaced, if anyone.")


class OnDutyOutput(serializers.Serializer):
    roster = serializers.IntegerField()
    at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    on_duty = OnDutyPersonOutput(many=True)


class ImportResultOutput(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.IntegerField()
