"""Property: whatever CAP alert we can write goes in through the API and comes out the same."""

import dataclasses
import uuid

import pytest
from hypothesis import HealthCheck, assume, given, settings

from incidents.alerts.cap import parse_cap, render_cap
from tests.alerts.capdocs import post_cap
from tests.alerts.support import assert_valid_cap
from tests.alerts.test_cap_roundtrip import alerts, offsets_of
from tests.conftest import ZHUHAI

pytestmark = pytest.mark.django_db

imported_alerts = alerts().filter(lambda alert: alert.msg_type in ("Alert", "Update", "Cancel"))


@pytest.fixture
def owner(api_as):
    return api_as(ZHUHAI)


@pytest.fixture
def register(register_sender):
    """Each drawn sender registered to Zhuhai, the importer (incidents.alerts.senders)."""
    return lambda sender: register_sender(sender, ZHUHAI)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(alert=imported_alerts)
def test_an_imported_alert_exports_as_itself(owner, register, alert):
    # Hypothesis replays and shrinks examples within one database transaction: a fresh
    # identifier keeps each from being "the same message twice".
    alert = dataclasses.replace(alert, identifier=f"rt-{uuid.uuid4()}")
    # Liandong's own senders ("liandong:<code>") are the jurisdiction's they name, never Zhuhai's.
    assume(not alert.sender.lower().startswith("liandong:"))
    register(alert.sender)

    response = post_cap(owner, render_cap(alert))

    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert (body["identifier"], body["msg_type"], len(body["info"])) == (alert.identifier, alert.msg_type,
                                                                        len(alert.infos))
    exported = owner.get(f"/api/v1/alerts/{body['id']}/cap/")
    assert exported.status_code == 200
    assert_valid_cap(exported.content)
    again = parse_cap(exported.content)
    assert again == alert
    assert offsets_of(again) == offsets_of(alert)
