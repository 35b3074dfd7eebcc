"""Every import emits exactly one schema-checked event; subscribers see it by the same rule."""

import pytest

from incidents.alerts.cap import Reference
from sharing.eventlog import sequence_pending
from sharing.events import EVENT_SCHEMAS
from sharing.models import Event
from sharing.selectors import events_visible_to
from tests.alerts.capdocs import cap_document, post_cap, soon, zhuhai_info
from tests.conftest import HUIZHOU, JIANGMEN, ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

SENDER = "warning@zhuhai-met.example.cn"


@pytest.mark.parametrize("msg_type, name", [("Alert", "alert.issued"), ("Update", "alert.updated"),
                                            ("Cancel", "alert.cancelled")])
def test_each_message_type_emits_its_event(api_as, msg_type, name):
    references = [Reference(SENDER, "ZH-0", soon(-1))] if msg_type != "Alert" else []
    response = post_cap(api_as(ZHUHAI), cap_document("ZH-E", msg_type=msg_type, references=references))
    assert response.status_code == 201

    (event,) = Event.objects.all()
    assert event.name == name and event.subject_type == "alert" and event.subject_id == response.json()["id"]
    EVENT_SCHEMAS[name].model_validate(event.payload)
    assert event.payload["info"][0]["headline"] == "台风橙色预警信号"
    assert event.payload["contacts"] == ["0756-0000000", "0756-0000000"]
    # A real Public alert is for anyone: the rule's public kind (every principal sees it).
    assert (event.level, event.category, event.data_kind) == ("II", "natural_disaster", "public_alerts")


def test_a_refused_or_repeated_import_emits_nothing(api_as):
    client = api_as(ZHUHAI)
    post_cap(client, cap_document("ZH-1"))
    post_cap(client, cap_document("ZH-1"))
    post_cap(client, b"<alert/>")
    post_cap(api_as(ZHUHAI, role="operator"), cap_document("ZH-2"))
    assert Event.objects.count() == 1


def test_subscribers_get_the_event_by_the_visibility_rule(api_as, principal_for, sequencer_ready):
    infos = [zhuhai_info(severity="Moderate")]
    post_cap(api_as(ZHUHAI), cap_document("ZH-M", scope="Restricted", restriction="responders", infos=infos))
    sequence_pending()

    (own,) = events_visible_to(principal=principal_for(ZHUHAI), since=0, limit=10)
    assert own["event"] == "alert.issued" and own["data"]["contacts"] == ["0756-0000000"]
    (neighbour,) = events_visible_to(principal=principal_for(JIANGMEN), since=0, limit=10)
    assert "contacts" not in neighbour["data"]
    assert neighbour["data"]["identifier"] == "ZH-M"
    assert events_visible_to(principal=principal_for(HUIZHOU), since=0, limit=10) == []


GUANGDONG = "440000"  # registered, a member of no cluster


def test_a_public_alert_is_on_every_principals_stream_as_the_api_shows_it(api_as, principal_for, sequencer_ready):
    """The REST rule (a Public alert is for anyone) and the event log and stream agree."""
    import json

    from sharing.stream.routes import route_events

    infos = [zhuhai_info(severity="Minor")]  # level IV: by the plain rule, Zhuhai's alone
    alert_id = post_cap(api_as(ZHUHAI), cap_document("ZH-PUB-IV", infos=infos)).json()["id"]
    sequence_pending()

    for code in (HUIZHOU, GUANGDONG):
        assert api_as(code).get(f"/api/v1/alerts/{alert_id}/").status_code == 200
        (seen,) = events_visible_to(principal=principal_for(code), since=0, limit=10)
        assert seen["data"]["id"] == alert_id and "contacts" not in seen["data"]
    (route,) = route_events(list(Event.objects.order_by("seq")))
    for code in (HUIZHOU, GUANGDONG):
        assert "contacts" not in json.loads(route.text_for(code))["data"]
    assert json.loads(route.text_for(ZHUHAI))["data"]["contacts"] == ["0756-0000000"]


def test_a_restricted_or_exercise_alert_stays_with_the_plain_rule_on_the_stream(api_as, principal_for,
                                                                                sequencer_ready):
    from sharing.stream.routes import route_events

    infos = [zhuhai_info(severity="Minor")]
    restricted = post_cap(api_as(ZHUHAI), cap_document("ZH-RES-IV", scope="Restricted", restriction="responders",
                                                       infos=infos)).json()["id"]
    drill = post_cap(api_as(ZHUHAI), cap_document("ZH-EXE-IV", status="Exercise", infos=infos)).json()["id"]
    sequence_pending()
    for alert_id in (restricted, drill):  # a Public drill is not for anyone: the feed never shows it either
        assert api_as(GUANGDONG).get(f"/api/v1/alerts/{alert_id}/").status_code == 404
    assert events_visible_to(principal=principal_for(GUANGDONG), since=0, limit=10) == []
    for route in route_events(list(Event.objects.order_by("seq"))):
        assert route.text_for(GUANGDONG) is None and route.text_for(HUIZHOU) is None
