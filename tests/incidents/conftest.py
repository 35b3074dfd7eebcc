"""Fixtures for incidents: report bodies placed on the demo cluster's (approximate) map,
and a way to see the events a block of code emitted."""

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.events import validate_payload
from sharing.models import Event

# Points and areas on coordination/demo/gba.json's boundaries.
IN_SHENZHEN = {"lat": 22.60, "lon": 114.05}
IN_DONGGUAN = {"lat": 22.93, "lon": 113.88}
IN_ZHUHAI = {"lat": 22.18, "lon": 113.37}
IN_GUANGZHOU = {"lat": 23.35, "lon": 113.54}
OFF_HONG_KONG = {"lat": 22.10, "lon": 114.30}  # sea, ~10 km south of Hong Kong: inside the margin
IN_BEIJING = {"lat": 39.90, "lon": 116.40}


def box(lon_min, lat_min, lon_max, lat_max) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon_min, lat_min], [lon_max, lat_min], [lon_max, lat_max], [lon_min, lat_max], [lon_min, lat_min],
    ]]}


SHENZHEN_DONGGUAN_AREA = box(113.95, 22.68, 114.05, 22.80)  # straddles their border
INSIDE_SHENZHEN_AREA = box(114.00, 22.56, 114.08, 22.62)


def report_body(**overrides) -> dict:
    """A valid report from Shenzhen; override any field (None removes it)."""
    body = {
        "title": "Chemical leak at Pingshan industrial park",
        "category": "accident",
        "type": "hazmat",
        "level": "III",
        "occurred_at": (timezone.now() - timedelta(minutes=30)).isoformat(),
        "location": dict(IN_SHENZHEN),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def report(api_as):
    """report(jurisdiction, **fields) -> the created incident's JSON (asserting 201)."""

    def make(jurisdiction: str = "440300", client=None, **fields):
        client = client or api_as(jurisdiction)
        response = client.post("/api/v1/incidents/", report_body(**fields), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


class EventCapture:
    def __init__(self):
        self.events: list[Event] = []

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]


@contextlib.contextmanager
def events_emitted():
    """The events written inside the block, each checked against its schema."""
    before = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    capture = EventCapture()
    yield capture
    capture.events = list(Event.objects.filter(id__gt=before).order_by("id"))
    for event in capture.events:
        validate_payload(event.name, event.payload)
