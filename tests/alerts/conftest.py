"""Fixtures for the alerts tests."""

import pytest


@pytest.fixture
def sequencer_ready(db):
    """The event sequencer's counter row. A migration creates it, and the flush that ends
    every transactional test empties all tables, that row included."""
    from sharing.models import SequenceCounter

    SequenceCounter.objects.get_or_create(id=1, defaults={"last_seq": 0})


@pytest.fixture
def shenzhen_incident(api_as):
    """shenzhen_incident(**fields) -> a report of Shenzhen's (a hazmat leak, level III, reaching
    into Dongguan unless the fields say otherwise) as the API answers it."""
    from tests.incidents.conftest import SHENZHEN_DONGGUAN_AREA, report_body

    reporter = api_as("440300", scopes=["read", "incidents:write"])

    def make(**fields):
        body = report_body(**{"affected_area": SHENZHEN_DONGGUAN_AREA, **fields})
        response = reporter.post("/api/v1/incidents/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make
