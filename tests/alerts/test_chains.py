"""Update and Cancel chains: the referenced alerts change state, in whatever order they arrive."""

from datetime import timedelta

import pytest

from coordination.models import AuditEntry
from incidents.alerts.cap import Reference
from sharing.models import Event
from tests.alerts.capdocs import cap_document, post_cap, soon, zhuhai_info
from tests.alerts.support import fixture_bytes
from tests.conftest import HUIZHOU, ZHONGSHAN, ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

SENDER = "warning@zhuhai-met.example.cn"
FUTURE_EXPIRY = soon(48).isoformat().encode()


def live(name: str) -> bytes:
    """Our Zhuhai typhoon chain (zh-CN + en-US), with its expiry moved into the future."""
    return fixture_bytes(name).replace(b"2024-09-06T20:00:00+08:00", FUTURE_EXPIRY)


def imported(client, name: str) -> dict:
    response = post_cap(client, live(name))
    assert response.status_code == 201, response.content
    return response.json()


def state_of(client, alert: dict) -> tuple[str, str | None]:
    body = client.get(f"/api/v1/alerts/{alert['id']}/").json()
    return body["state"], body["superseded_by"]


def test_an_update_then_a_cancel_apply_to_the_alerts_they_reference(api_as):
    zhuhai = api_as(ZHUHAI)
    warning = imported(zhuhai, "zhuhai-typhoon-warning.xml")
    assert warning["state"] == "active"

    update = imported(zhuhai, "zhuhai-typhoon-update.xml")
    assert (update["state"], update["replaces"]) == ("active", [warning["id"]])
    assert state_of(zhuhai, warning) == ("updated", update["id"])
    assert [info["headline"] for info in update["info"]] == ["台风橙色预警信号升级为红色",
                                                             "Typhoon warning raised from orange to red"]

    cancel = imported(zhuhai, "zhuhai-typhoon-cancel.xml")
    assert cancel["state"] == "cancelled" and cancel["info"] == []
    assert sorted(cancel["replaces"]) == sorted([warning["id"], update["id"]])
    assert state_of(zhuhai, warning) == ("cancelled", cancel["id"])
    assert state_of(zhuhai, update) == ("cancelled", cancel["id"])

    listed = zhuhai.get("/api/v1/alerts/?state=cancelled").json()
    assert listed["count"] == 3
    assert zhuhai.get("/api/v1/alerts/?state=active").json()["count"] == 0


def test_each_message_is_one_event_and_every_change_is_audited(api_as):
    zhuhai = api_as(ZHUHAI)
    ids = [imported(zhuhai, f"zhuhai-typhoon-{name}.xml")["id"] for name in ("warning", "update", "cancel")]

    events = list(Event.objects.filter(subject_type="alert").order_by("id"))
    assert [(event.name, event.subject_id) for event in events] == [
        ("alert.issued", ids[0]), ("alert.updated", ids[1]), ("alert.cancelled", ids[2]),
    ]
    assert all(event.exercise and event.owner == ZHUHAI and event.cluster == "GBA" for event in events)
    # The Cancel has no areas, yet concerns whoever the alerts it cancels concerned.
    assert {"440400", "442000", "820000"} <= set(events[2].jurisdiction_codes)
    assert set(events[2].payload["replaces"]) == set(ids[:2])
    audited = list(AuditEntry.objects.filter(object_type="alert").order_by("id").values_list("action", "object_id"))
    assert audited == [
        ("alert.imported", ids[0]),
        ("alert.updated", ids[0]), ("alert.imported", ids[1]),
        *sorted([("alert.cancelled", ids[0]), ("alert.cancelled", ids[1])], key=lambda entry: entry[1]),
        ("alert.imported", ids[2]),
    ]


def test_a_cancel_that_arrives_first_cancels_the_alerts_when_they_come(api_as):
    zhuhai = api_as(ZHUHAI)
    cancel = imported(zhuhai, "zhuhai-typhoon-cancel.xml")
    assert cancel["replaces"] == []

    warning = imported(zhuhai, "zhuhai-typhoon-warning.xml")
    update = imported(zhuhai, "zhuhai-typhoon-update.xml")

    assert (warning["state"], warning["superseded_by"]) == ("cancelled", cancel["id"])
    assert (update["state"], update["superseded_by"]) == ("cancelled", cancel["id"])
    assert update["replaces"] == []  # what it names is cancelled: cancelled is final


def test_an_update_that_arrives_first_marks_the_alert_updated(api_as):
    zhuhai = api_as(ZHUHAI)
    update = imported(zhuhai, "zhuhai-typhoon-update.xml")
    warning = imported(zhuhai, "zhuhai-typhoon-warning.xml")

    assert (warning["state"], warning["superseded_by"]) == ("updated", update["id"])
    assert state_of(zhuhai, update)[0] == "active"


def test_the_latest_update_stays_in_charge(api_as):
    zhuhai = api_as(ZHUHAI)
    warning = post_cap(zhuhai, cap_document("ZH-W", sent=soon(-3))).json()
    first_ref = Reference(SENDER, "ZH-W", soon(-3))
    second = post_cap(zhuhai, cap_document("ZH-U2", msg_type="Update", sent=soon(-1), references=[
        first_ref, Reference(SENDER, "ZH-U1", soon(-2))])).json()
    first = post_cap(zhuhai, cap_document("ZH-U1", msg_type="Update", sent=soon(-2), references=[first_ref])).json()

    assert state_of(zhuhai, warning) == ("updated", second["id"])
    assert (first["state"], first["superseded_by"]) == ("updated", second["id"])
    assert first["replaces"] == []
    assert state_of(zhuhai, second) == ("active", None)


def test_another_jurisdiction_cannot_cancel_an_alert_it_does_not_own(api_as, register_sender):
    register_sender("*@zhongshan-gov.example", ZHONGSHAN)
    warning = imported(api_as(ZHUHAI), "zhuhai-typhoon-warning.xml")
    # Zhuhai's own Cancel, under Zhongshan's sender (under Zhuhai's it is refused outright).
    cancel_document = live("zhuhai-typhoon-cancel.xml").replace(
        b"<sender>warning@zhuhai-met.example.cn</sender>", b"<sender>eoc@zhongshan-gov.example</sender>")

    cancel = post_cap(api_as(ZHONGSHAN), cancel_document).json()

    assert cancel["replaces"] == [] and cancel["owner"] == ZHONGSHAN
    assert state_of(api_as(ZHUHAI), warning) == ("active", None)
    assert post_cap(api_as(ZHONGSHAN), live("zhuhai-typhoon-cancel.xml")).status_code == 403


def test_an_exercise_cannot_cancel_a_real_alert(api_as):
    zhuhai = api_as(ZHUHAI)
    real = post_cap(zhuhai, cap_document("ZH-REAL")).json()
    drill = post_cap(zhuhai, cap_document("ZH-DRILL-C", status="Exercise", msg_type="Cancel", infos=[],
                                          references=[Reference(SENDER, "ZH-REAL", soon())])).json()

    assert drill["replaces"] == [] and drill["exercise"] is True
    assert state_of(zhuhai, real) == ("active", None)
    # ... and a real alert that arrives after the drill's Cancel is not born cancelled.
    later = post_cap(zhuhai, cap_document("ZH-REAL-2")).json()
    post_cap(zhuhai, cap_document("ZH-DRILL-C2", status="Exercise", msg_type="Cancel", infos=[],
                                  references=[Reference(SENDER, "ZH-REAL-3", soon())]))
    arriving = post_cap(zhuhai, cap_document("ZH-REAL-3")).json()
    assert (later["state"], arriving["state"]) == ("active", "active")


def test_a_cancel_without_info_reaches_everyone_who_saw_the_alert(api_as):
    """A Restricted, Severe (level II) alert is seen across the cluster: so is its Cancel,
    although the Cancel itself carries no info block and no area."""
    zhuhai, huizhou = api_as(ZHUHAI), api_as(HUIZHOU)
    warning = post_cap(zhuhai, cap_document("ZH-S", scope="Restricted", restriction="responders",
                                            infos=[zhuhai_info(severity="Severe")])).json()
    cancel = post_cap(zhuhai, cap_document("ZH-S-C", msg_type="Cancel", scope="Restricted", restriction="responders",
                                           infos=[], references=[Reference(SENDER, "ZH-S", soon())])).json()

    assert cancel["level"] == "II" and cancel["affected_jurisdictions"] == [ZHUHAI]
    assert huizhou.get(f"/api/v1/alerts/{cancel['id']}/").status_code == 200
    assert huizhou.get(f"/api/v1/alerts/{warning['id']}/").json()["state"] == "cancelled"


def test_expiry_is_read_at_the_time_of_asking(api_as):
    zhuhai = api_as(ZHUHAI)
    gone = post_cap(zhuhai, cap_document("ZH-OLD", infos=[zhuhai_info(expires=soon(-1))])).json()
    lasting = post_cap(zhuhai, cap_document("ZH-NEW", infos=[zhuhai_info(expires=soon(1)), zhuhai_info(
        "en-US", expires=soon(1) + timedelta(days=1))])).json()
    open_ended = post_cap(zhuhai, cap_document("ZH-OPEN", infos=[zhuhai_info(expires=soon(-1)),
                                                                 zhuhai_info("en-US", expires=None)])).json()

    assert (gone["state"], lasting["state"], open_ended["state"]) == ("expired", "active", "active")
    assert [a["id"] for a in zhuhai.get("/api/v1/alerts/?state=expired").json()["results"]] == [gone["id"]]
    assert zhuhai.get("/api/v1/alerts/?state=active").json()["count"] == 2


def test_an_update_naming_thousands_of_messages_is_applied(api_as):
    zhuhai = api_as(ZHUHAI)
    named = post_cap(zhuhai, cap_document("ZH-MANY-0", sent=soon(-1))).json()
    references = [Reference(SENDER, f"ZH-MANY-{n}", soon(-1)) for n in range(3000)]

    update = post_cap(zhuhai, cap_document("ZH-MANY-U", msg_type="Update", references=references))

    assert update.status_code == 201, update.content[:300]
    assert update.json()["replaces"] == [named["id"]]
    assert len(update.json()["references"]) == 3000
