"""config.serializers.validated: the one way the views check input."""

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from config.serializers import StrictInput, validated


class Sample(StrictInput):
    name = serializers.CharField(max_length=10)
    count = serializers.IntegerField(min_value=0, required=False)


def test_the_checked_data():
    assert validated(Sample, {"name": " Li ", "count": "3"}) == {"name": "Li", "count": 3}


@pytest.mark.parametrize("data, field", [
    ({"count": 1}, "name"),
    ({"name": "x" * 11}, "name"),
    ({"name": "ok", "count": -1}, "count"),
    ({"name": "ok", "colour": "red"}, "colour"),
])
def test_a_refusal_names_the_field(data, field):
    with pytest.raises(ValidationError) as refused:
        validated(Sample, data)
    assert field in refused.value.detail


def test_partial_and_whole_checks_do_not_share_an_instance():
    assert validated(Sample, {"count": 2}, partial=True) == {"count": 2}
    with pytest.raises(ValidationError):
        validated(Sample, {"count": 2})
    assert validated(Sample, {"count": 2}, partial=True) == {"count": 2}


def test_each_call_gets_its_own_dict():
    first = validated(Sample, {"name": "a"})
    first["name"] = "changed"
    assert validated(Sample, {"name": "a"}) == {"name": "a"}
