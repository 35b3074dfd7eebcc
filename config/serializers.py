"""What every API input serializer shares."""

from rest_framework import serializers


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know, naming them: a misspelt field must not pass silently
    (a PATCH of a field that cannot change would otherwise answer 200 and change nothing)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            message = [f"Expected an object, not {type(data).__name__}."]
            # Nested, a plain list of messages, so the problem names the field itself
            # ("location", not "location.non_field_errors").
            raise serializers.ValidationError(message if self.parent is not None else {"non_field_errors": message})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
