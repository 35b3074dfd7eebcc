"""config.renderers.FastJSONRenderer writes what DRF's JSONRenderer writes, byte for byte."""

import decimal
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from config.renderers import FastJSONRenderer

SAMPLES = [
    {"id": "INC-2026-000001", "level": "II", "count": 3, "ratio": 0.1, "ok": True, "none": None},
    {"at": datetime(2026, 11, 28, 19, 49, 27, 123456, tzinfo=UTC)},
    {"at": datetime(2026, 11, 28, 19, 49, 27, tzinfo=ZoneInfo("Asia/Shanghai"))},
    {"day": date(2026, 11, 28), "time": time(8, 30), "span": timedelta(minutes=90)},
    {"amount": decimal.Decimal("12.50"), "key": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"title": gettext_lazy("This field is required."), "zh": "深圳 东莞 台风"},
    {"line": "a\u2028b\u2029c", "quote": 'say "hi"\n', "control": "\x01"},
    {"nested": [{"a": [1, 2, (3, 4)]}, [], {}], 5: "int key"},
    [1, 2.5, -0.0, 10**15, "x"],
    "plain",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_same_bytes_as_drf(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_indentation_asked_for_is_drfs():
    data = {"a": [1, 2], "b": {"c": "d"}}
    media = "application/json; indent=2"
    assert FastJSONRenderer().render(data, media) == JSONRenderer().render(data, media)
    assert b"\n  " in FastJSONRenderer().render(data, media)


def test_no_data_is_no_body():
    assert FastJSONRenderer().render(None) == b""


def test_the_api_answers_with_it(api_as):
    response = api_as("440300").get("/api/v1/incidents/")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    assert response.json()["results"] == []
