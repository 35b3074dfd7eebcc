"""Fixtures for the alerts tests."""

import pytest


@pytest.fixture
def sequencer_ready(db):
    """The event sequencer's counter row. A migration creates it, and the flush that ends
    every transactional test empties all tables, that row included."""
    from sharing.models import SequenceCounter

    SequenceCounter.objects.get_or_create(id=1, defaults={"last_seq": 0})
