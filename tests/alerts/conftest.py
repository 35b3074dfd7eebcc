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


# The senders of tests/alerts/data and of tests.alerts.capdocs' documents: Zhuhai's warning
# systems in these tests.
ZHUHAI_SENDERS = ("warning@zhuhai-met.example.cn", "forecast@prd-weather.example.org")


@pytest.fixture
def register_sender(gba):
    """register_sender(pattern, jurisdiction): what a coordinator does before a city system may
    import CAP under that sender (incidents.alerts.senders)."""
    from incidents.alerts.senders import cap_sender_register

    def register(pattern: str, jurisdiction: str) -> None:
        cap_sender_register(actor=None, pattern=pattern, jurisdiction=jurisdiction)

    return register


@pytest.fixture
def zhuhai_senders(register_sender):
    """ZHUHAI_SENDERS registered to Zhuhai, whose system imports them in most alerts tests."""
    from tests.conftest import ZHUHAI

    for sender in ZHUHAI_SENDERS:
        register_sender(sender, ZHUHAI)
