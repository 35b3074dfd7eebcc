"""What every API input serializer shares, and the one way the views use them."""

import functools

from rest_framework import serializers

from config.times import OUT_OF_RANGE, OutOfRange, instant


def validated(serializer_class: type[serializers.Serializer], data, *, partial: bool = False) -> dict:
    """`data` as the input serializer reads it; its ValidationError (a 400 problem naming the
    fields) otherwise.

    One instance per serializer (and partial or not) serves every call in a process: input
    serializers keep nothing between calls (none reads initial_data, instance or context), and
    a new instance deep-copies all its fields, which for a bulk of 500 reports was most of the
    request's time."""
    return _instance(serializer_class, partial).run_validation(data)


@functools.cache
def _instance(serializer_class: type[serializers.Serializer], partial: bool) -> serializers.Serializer:
    return serializer_class(partial=partial)


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


class InstantField(serializers.DateTimeField):
    """Every date-time of an input: ISO 8601 under config.times' rule (a time no database takes
    is a 400 naming the field), handed on in the current time zone as DRF's own field does."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def enforce_timezone(self, value):
        try:
            return instant(value)
        except OutOfRange:
            self.fail("out_of_range")
