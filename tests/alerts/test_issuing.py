"""Issuing alerts from incidents: a commander drafts one (CAP terms from the one mapping table,
zh-CN and en-US, the incident's area), approves it, updates it, cancels it. Each step is an
audit entry, one event and a timeline entry; a draft is its owner's alone; an exercise's
alerts are never public."""

from datetime import timedelta

import pytest
from django.utils import timezone
from lxml import etree

from coordination.models import AuditEntry
from incidents.alerts.areas import affected_jurisdictions
from incidents.alerts.cap import parse_cap
from incidents.alerts.mapping import cap_terms
from incidents.alerts.models import Alert
from incidents.models import TimelineEntry
from sharing.eventlog import sequence_pending
from sharing.events import validate_payload
from sharing.models import Event
from sharing.selectors import events_visible_to
from tests.alerts.support import assert_valid_cap
from tests.conftest import DONGGUAN, HUIZHOU, SHENZHEN, ZHUHAI
from tests.incidents.conftest import IN_SHENZHEN, INSIDE_SHENZHEN_AREA, box

pytestmark = pytest.mark.django_db

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
GUANGDONG = "440000"  # registered (the province), a member of no cluster
CONTACT = "0755-12345678"


@pytest.fixture
def commander(api_as):
    return api_as(SHENZHEN, role="commander")


def draft(client, incident: dict, **fields):
    response = client.post("/api/v1/alerts/", {"incident": incident["id"], **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def approve(client, alert: dict) -> dict:
    response = client.post(f"/api/v1/alerts/{alert['id']}/approve/")
    assert response.status_code == 200, response.json()
    return response.json()


def issued(client, incident: dict, **fields) -> dict:
    return approve(client, draft(client, incident, **fields))


def events_of(alert_id: str) -> list[Event]:
    return list(Event.objects.filter(subject_type="alert", subject_id=alert_id).order_by("id"))


def timeline_of(incident: dict) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(incident__public_id=incident["id"], kind="alert").order_by("id"))


def feed_ids(client) -> list[str]:
    root = etree.fromstring(client.get("/feeds/alerts.atom").content)
    return [entry.findtext("{http://www.w3.org/2005/Atom}id").removeprefix("urn:uuid:")
            for entry in root.iter("{http://www.w3.org/2005/Atom}entry")]


# --- drafting ------------------------------------------------------------------------------------------


def test_a_commander_drafts_a_bilingual_alert_from_the_mapping_table(commander, shenzhen_incident):
    incident = shenzhen_incident()
    body = draft(commander, incident, contact=CONTACT)

    assert body["state"] == "draft" and body["incident"] == incident["id"]
    assert (body["msg_type"], body["status"], body["scope"], body["exercise"]) == ("Alert", "Actual", "Public", False)
    assert body["identifier"] == f"{incident['id']}-A1" and body["sender"] == f"liandong:{SHENZHEN}"
    assert body["incidents"] == [incident["id"]]
    assert (body["owner"], body["level"], body["category"]) == (SHENZHEN, "III", "accident")
    assert body["affected_jurisdictions"] == [SHENZHEN, DONGGUAN]
    terms = cap_terms(category="accident", level="III", type="hazmat")
    assert [info["language"] for info in body["info"]] == ["zh-CN", "en-US"]
    for info in body["info"]:
        assert info["category"] == [terms.category] == ["CBRNE"]
        assert (info["severity"], info["urgency"], info["certainty"]) == ("Moderate", "Expected", "Observed")
        assert info["contact"] == CONTACT
        (area,) = info["area"]
        assert [g["value"] for g in area["geocode"] if g["value_name"] == "GB/T 2260"] == [SHENZHEN, DONGGUAN]
        (ring,) = area["polygon"]
        assert ring[0] == ring[-1] == [22.68, 113.95]  # CAP order: lat, lon
    zh, en = body["info"]
    assert zh["event"] == "危险化学品泄漏" and zh["headline"] == "深圳市危险化学品泄漏黄色预警"
    assert "深圳市、东莞市" in zh["description"] and zh["area"][0]["area_desc"] == "深圳市、东莞市"
    assert en["event"] == "Hazardous materials release" and en["headline"].startswith("Yellow warning")


def test_the_caller_may_choose_scope_wording_responses_and_expiry(commander, shenzhen_incident):
    incident = shenzhen_incident()
    expires = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    body = draft(commander, incident, scope="Restricted", restriction="应急救援队伍 responders",
                 response_type=["Evacuate", "Avoid"], expires=expires.isoformat(), web="https://yj.sz.example.cn/",
                 info=[{"language": "en-US", "headline": "Leave Pingshan now", "instruction": "Go north."}])
    assert (body["scope"], body["restriction"]) == ("Restricted", "应急救援队伍 responders")
    zh, en = body["info"]
    assert en["headline"] == "Leave Pingshan now" and en["instruction"] == "Go north."
    assert zh["headline"] == "深圳市危险化学品泄漏黄色预警"  # not given: ours
    for info in body["info"]:
        assert info["response_type"] == ["Evacuate", "Avoid"] and info["web"] == "https://yj.sz.example.cn/"
        assert info["expires"] == expires.astimezone(timezone.get_fixed_timezone(480)).isoformat()


@pytest.mark.parametrize("area, polygons, circles", [
    ({"circle": {"lat": 22.6, "lon": 114.05, "radius_m": 1500}}, 0, [[22.6, 114.05, 1.5]]),
    ({"type": "MultiPolygon", "coordinates": [box(114.00, 22.56, 114.02, 22.58)["coordinates"],
                                              box(114.04, 22.56, 114.06, 22.58)["coordinates"]]}, 2, []),
    (None, 0, [[IN_SHENZHEN["lat"], IN_SHENZHEN["lon"], 0.0]]),  # no area: the location, as a point
])
def test_the_area_is_the_incidents_and_the_export_is_valid_cap(commander, shenzhen_incident, area, polygons,
                                                                 circles):
    incident = shenzhen_incident(affected_area=area)
    body = issued(commander, incident)
    (cap_area,) = body["info"][0]["area"]
    assert len(cap_area["polygon"]) == polygons
    assert [[c["lat"], c["lon"], c["radius_km"]] for c in cap_area["circle"]] == circles

    document = commander.get(f"/api/v1/alerts/{body['id']}/cap/").content
    assert_valid_cap(document)
    message = parse_cap(document)
    assert (message.identifier, message.msg_type, [i.language for i in message.infos]) == (
        body["identifier"], "Alert", ["zh-CN", "en-US"])
    # Another system importing our export finds the same jurisdictions.
    assert affected_jurisdictions(message.infos[0].areas) == set(body["affected_jurisdictions"])


def test_a_draft_is_its_owners_alone(commander, shenzhen_incident, api_as, principal_for, client,
                                     sequencer_ready):
    incident = shenzhen_incident(level="I")  # an issued level I alert would reach the whole cluster
    body = draft(commander, incident, contact=CONTACT)

    assert api_as(SHENZHEN, role="viewer").get(f"/api/v1/alerts/{body['id']}/").status_code == 200
    for outsider in (api_as(DONGGUAN), api_as(HUIZHOU, role="coordinator"), api_as(GUANGDONG)):
        assert outsider.get(f"/api/v1/alerts/{body['id']}/").status_code == 404
        assert outsider.get(f"/api/v1/alerts/{body['id']}/cap/").status_code == 404
        assert outsider.get("/api/v1/alerts/").json()["count"] == 0
    assert client.get(f"/feeds/alerts/{body['id']}.cap").status_code == 404
    assert feed_ids(client) == []

    (event,) = events_of(body["id"])
    assert (event.name, event.data_kind) == ("alert.drafted", "drafts")
    sequence_pending()
    assert [m["event"] for m in events_visible_to(principal=principal_for(SHENZHEN), since=0, limit=50)
            if m["event"].startswith("alert.")] == ["alert.drafted"]
    for code, role in ((DONGGUAN, None), (HUIZHOU, "coordinator"), (ZHUHAI, None)):
        seen = events_visible_to(principal=principal_for(code, role=role), since=0, limit=50)
        assert not [m for m in seen if m["event"].startswith("alert.")]
    (entry,) = timeline_of(incident)
    assert entry.data == {"alert": body["id"]} and "drafted" in entry.text
    assert AuditEntry.objects.filter(action="alert.drafted", object_id=body["id"]).count() == 1


# --- approving -------------------------------------------------------------------------------------------


def test_approving_issues_it_to_everyone_and_the_feed(commander, shenzhen_incident, api_as, principal_for, client,
                                                      sequencer_ready):
    incident = shenzhen_incident()
    drafted = draft(commander, incident, contact=CONTACT)
    body = approve(commander, drafted)

    assert body["state"] == "active" and body["sent"] >= drafted["sent"]
    assert feed_ids(client) == [body["id"]]
    public_document = client.get(f"/feeds/alerts/{body['id']}.cap").content
    assert_valid_cap(public_document)
    assert CONTACT.encode() not in public_document
    events = events_of(body["id"])
    assert [e.name for e in events] == ["alert.drafted", "alert.issued"]
    issued_event = events[-1]
    validate_payload(issued_event.name, issued_event.payload)
    assert (issued_event.data_kind, issued_event.payload["incident"]) == ("public_alerts", incident["id"])

    # A Public alert is for every principal, on the REST API and on the event log alike.
    sequence_pending()
    for code in (SHENZHEN, DONGGUAN, ZHUHAI, GUANGDONG):
        (seen,) = [m for m in events_visible_to(principal=principal_for(code), since=0, limit=50)
                   if m["event"] == "alert.issued"]
        assert ("contacts" in seen["data"]) == (code == SHENZHEN)
        assert api_as(code).get(f"/api/v1/alerts/{body['id']}/").status_code == 200
    assert [e.text.split(" ")[2] for e in timeline_of(incident)] == ["drafted", "issued"]
    assert AuditEntry.objects.filter(action="alert.issued", object_id=body["id"]).count() == 1


def test_approving_twice_or_after_the_incident_closed_is_a_conflict(commander, shenzhen_incident, api_as):
    incident = shenzhen_incident()
    body = issued(commander, incident)
    response = commander.post(f"/api/v1/alerts/{body['id']}/approve/")
    assert response.status_code == 409 and response.json()["state"] == "active"

    late = draft(commander, incident)
    transition = commander.post(f"/api/v1/incidents/{incident['id']}/transition/",
                                {"status": "cancelled", "note": "false alarm"}, format="json")
    assert transition.status_code == 200
    assert commander.post(f"/api/v1/alerts/{late['id']}/approve/").status_code == 409
    assert commander.post("/api/v1/alerts/", {"incident": incident["id"]}, format="json").status_code == 409
    # Cancelling what was issued stays possible.
    assert commander.post(f"/api/v1/alerts/{body['id']}/cancel/", {}, format="json").status_code == 201


def test_a_draft_that_expired_before_approval_is_not_issued(commander, shenzhen_incident):
    body = draft(commander, shenzhen_incident(), expires=(timezone.now() + timedelta(hours=1)).isoformat())
    Alert.objects.filter(pk=body["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    assert commander.post(f"/api/v1/alerts/{body['id']}/approve/").status_code == 409


# --- updating and cancelling -----------------------------------------------------------------------------


def test_an_update_is_a_new_message_naming_the_previous(commander, shenzhen_incident, client):
    incident = shenzhen_incident()
    first = issued(commander, incident, response_type=["Shelter"],
                   info=[{"language": "zh-CN", "instruction": "请关闭门窗。"}])
    # The incident grows: level II now.
    assert commander.patch(f"/api/v1/incidents/{incident['id']}/", {"level": "II"}, format="json").status_code == 200

    response = commander.post(f"/api/v1/alerts/{first['id']}/update/", {"contact": CONTACT}, format="json")
    assert response.status_code == 201, response.json()
    update = response.json()
    assert response["Location"] == f"/api/v1/alerts/{update['id']}/"
    assert (update["msg_type"], update["state"], update["identifier"]) == ("Update", "active", f"{incident['id']}-A2")
    assert update["references"] == [{"sender": first["sender"], "identifier": first["identifier"],
                                     "sent": first["sent"]}]
    assert update["replaces"] == [first["id"]] and update["level"] == "II"
    zh, en = update["info"]
    assert (zh["severity"], zh["urgency"]) == ("Severe", "Immediate")  # the table, at the new level
    assert zh["headline"] == "深圳市危险化学品泄漏橙色预警"  # written anew
    assert zh["instruction"] == "请关闭门窗。" and zh["response_type"] == ["Shelter"]  # kept
    assert zh["contact"] == CONTACT

    previous = commander.get(f"/api/v1/alerts/{first['id']}/").json()
    assert (previous["state"], previous["superseded_by"]) == ("updated", update["id"])
    assert feed_ids(client) == [update["id"]]
    assert [e.name for e in events_of(update["id"])] == ["alert.updated"]
    assert_valid_cap(commander.get(f"/api/v1/alerts/{update['id']}/cap/").content)
    assert "updates" in timeline_of(incident)[-1].text
    # Only the message in charge is updated or cancelled.
    stale = commander.post(f"/api/v1/alerts/{first['id']}/update/", {}, format="json")
    assert stale.status_code == 409 and stale.json()["superseded_by"] == update["id"]
    assert commander.post(f"/api/v1/alerts/{first['id']}/cancel/", {}, format="json").status_code == 409


def test_an_update_clears_the_contact_web_and_response_types_given_empty(commander, shenzhen_incident):
    incident = shenzhen_incident()
    first = issued(commander, incident, response_type=["Shelter"], contact=CONTACT, web="https://yj.sz.gov.cn/")
    kept = commander.post(f"/api/v1/alerts/{first['id']}/update/", {}, format="json").json()
    assert [(i["contact"], i["web"], i["response_type"]) for i in kept["info"]] == [
        (CONTACT, "https://yj.sz.gov.cn/", ["Shelter"])] * 2  # absent: kept
    response = commander.post(f"/api/v1/alerts/{kept['id']}/update/",
                              {"contact": "", "web": "", "response_type": []}, format="json")
    assert response.status_code == 201, response.json()
    for info in response.json()["info"]:
        assert info.get("contact") is None and info.get("web") is None and info["response_type"] == []
    assert_valid_cap(commander.get(f"/api/v1/alerts/{response.json()['id']}/cap/").content)


def test_a_cancel_takes_the_alert_off_the_feed(commander, shenzhen_incident, client, principal_for,
                                               sequencer_ready):
    incident = shenzhen_incident()
    first = issued(commander, incident)
    response = commander.post(f"/api/v1/alerts/{first['id']}/cancel/", {"note": "泄漏已控制 Leak contained"},
                              format="json")
    assert response.status_code == 201, response.json()
    cancel = response.json()
    assert (cancel["msg_type"], cancel["state"], cancel["note"]) == ("Cancel", "cancelled", "泄漏已控制 Leak contained")
    assert [info["response_type"] for info in cancel["info"]] == [["AllClear"], ["AllClear"]]
    assert cancel["info"][0]["headline"].startswith("解除：")
    assert cancel["info"][0]["area"] == first["info"][0]["area"]  # the same places hear it
    assert commander.get(f"/api/v1/alerts/{first['id']}/").json()["state"] == "cancelled"
    assert feed_ids(client) == []
    assert_valid_cap(commander.get(f"/api/v1/alerts/{cancel['id']}/cap/").content)
    (event,) = events_of(cancel["id"])
    assert (event.name, event.data_kind) == ("alert.cancelled", "public_alerts")
    sequence_pending()
    assert any(m["event"] == "alert.cancelled"
               for m in events_visible_to(principal=principal_for(GUANGDONG), since=0, limit=50))
    assert "cancels" in timeline_of(incident)[-1].text
    assert commander.post(f"/api/v1/alerts/{cancel['id']}/cancel/", {}, format="json").status_code == 409


def test_imported_alerts_are_updated_by_their_sender_not_here(commander, api_as, register_sender):
    from tests.alerts.capdocs import cap_document, post_cap

    register_sender("*@shenzhen-gov.example", SHENZHEN)
    imported = post_cap(api_as(SHENZHEN), cap_document("SZ-IMP", sender="eoc@shenzhen-gov.example")).json()
    for action in ("update", "cancel"):
        response = commander.post(f"/api/v1/alerts/{imported['id']}/{action}/", {}, format="json")
        assert response.status_code == 409 and response.json()["origin"] == "imported"


# --- exercises -------------------------------------------------------------------------------------------


def test_an_exercise_incidents_alerts_are_never_public(commander, shenzhen_incident, api_as, client,
                                                       principal_for, sequencer_ready):
    incident = shenzhen_incident(exercise=True, affected_area=INSIDE_SHENZHEN_AREA)
    body = issued(commander, incident)
    assert (body["status"], body["exercise"], body["scope"]) == ("Exercise", True, "Public")
    assert body["info"][0]["headline"].startswith("【演练】") and body["note"]
    assert feed_ids(client) == []
    assert client.get(f"/feeds/alerts/{body['id']}.cap").status_code == 404
    # Not for anyone: the plain rule (a level III drill in Shenzhen: not Guangdong province, not Zhuhai).
    for code in (GUANGDONG, ZHUHAI):
        assert api_as(code).get(f"/api/v1/alerts/{body['id']}/").status_code == 404
    (event,) = [e for e in events_of(body["id"]) if e.name == "alert.issued"]
    assert (event.exercise, event.data_kind) == (True, "incidents")
    sequence_pending()
    assert not [m for m in events_visible_to(principal=principal_for(GUANGDONG), since=0, limit=50)
                if m["event"].startswith("alert.")]
    assert_valid_cap(commander.get(f"/api/v1/alerts/{body['id']}/cap/").content)


# --- who may --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, scopes, status", [
    ("commander", None, 201), ("coordinator", None, 201), ("operator", None, 403), ("viewer", None, 403),
    (None, ["read", "alerts:write"], 201), (None, ["read", "incidents:write"], 403),
])
def test_who_may_draft(api_as, shenzhen_incident, role, scopes, status):
    incident = shenzhen_incident()
    response = api_as(SHENZHEN, role=role, scopes=scopes).post("/api/v1/alerts/", {"incident": incident["id"]},
                                                               format="json")
    assert response.status_code == status, response.json()


def test_only_the_reporting_jurisdiction_issues_alerts_about_its_incident(commander, shenzhen_incident, api_as):
    incident = shenzhen_incident()
    dongguan = api_as(DONGGUAN, role="commander")  # affected: it sees the incident
    assert dongguan.post("/api/v1/alerts/", {"incident": incident["id"]}, format="json").status_code == 403
    hidden = shenzhen_incident(level="IV", affected_area=INSIDE_SHENZHEN_AREA)
    response = api_as(ZHUHAI, role="commander").post("/api/v1/alerts/", {"incident": hidden["id"]}, format="json")
    assert response.status_code == 400 and "incident" in response.json()["errors"]

    drafted = draft(commander, incident)
    assert dongguan.post(f"/api/v1/alerts/{drafted['id']}/approve/").status_code == 404  # a draft: not theirs to see
    body = approve(commander, drafted)
    for action in ("update", "cancel"):  # a public alert: seen by all, changed by its owner
        assert dongguan.post(f"/api/v1/alerts/{body['id']}/{action}/", {}, format="json").status_code == 403
    operator = api_as(SHENZHEN, role="operator")
    assert operator.post(f"/api/v1/alerts/{body['id']}/cancel/", {}, format="json").status_code == 403
    assert api_as(SHENZHEN, scopes=["read"]).post(f"/api/v1/alerts/{body['id']}/approve/").status_code == 403


@pytest.mark.parametrize("fields, field", [
    ({"surprise": 1}, "surprise"),
    ({"scope": "public"}, "scope"),
    ({"scope": "Restricted"}, "restriction"),
    ({"restriction": "responders"}, "restriction"),
    ({"scope": "Private"}, "addresses"),
    ({"scope": "Private", "addresses": []}, "addresses"),
    ({"scope": "Private", "addresses": ['a "quoted" one']}, "addresses.0"),
    ({"addresses": ["440300"]}, "addresses"),
    ({"expires": "2000-01-01T00:00:00+08:00"}, "expires"),
    ({"expires": "tomorrow"}, "expires"),
    ({"response_type": ["Panic"]}, "response_type.0"),
    ({"info": [{"language": "fr-FR", "headline": "Alerte"}]}, "info.0.language"),
    ({"info": [{"language": "zh-CN"}, {"language": "zh-CN"}]}, "info"),
    ({"info": [{"language": "en-US", "headline": "x" * 161}]}, "info.0.headline"),
    ({"info": [{"language": "en-US", "description": "bell\x07"}]}, "info.0.description"),
    ({"info": [{"language": "en-US", "colour": "red"}]}, "info.0.colour"),
    ({"info": {"language": "en-US"}}, "info"),
    ({"web": "not a url"}, "web"),
    ({"contact": "x" * 201}, "contact"),
])
def test_each_bad_input_is_a_400_naming_the_field(commander, shenzhen_incident, fields, field):
    incident = shenzhen_incident()
    response = commander.post("/api/v1/alerts/", {"incident": incident["id"], **fields}, format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()
    assert not Alert.objects.exists()


@pytest.mark.parametrize("body, field", [({}, "incident"), ({"incident": "INC-2026-999999"}, "incident"),
                                         ([], "non_field_errors")])
def test_a_draft_names_an_incident(commander, body, field):
    response = commander.post("/api/v1/alerts/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_bad_update_and_cancel_bodies_and_ids(commander, shenzhen_incident):
    body = issued(commander, shenzhen_incident())
    assert commander.post(f"/api/v1/alerts/{body['id']}/update/", {"scope": "Restricted"},
                          format="json").status_code == 400
    assert commander.post(f"/api/v1/alerts/{body['id']}/cancel/", {"note": "x" * 1001},
                          format="json").status_code == 400
    assert commander.post(f"/api/v1/alerts/{body['id']}/cancel/", {"why": "?"}, format="json").status_code == 400
    assert commander.post("/api/v1/alerts/not-an-id/approve/").status_code == 404
    assert commander.post("/api/v1/alerts/00000000-0000-0000-0000-000000000000/approve/").status_code == 404
    drafted = draft(commander, shenzhen_incident())
    assert commander.post(f"/api/v1/alerts/{drafted['id']}/update/", {}, format="json").status_code == 409
    assert commander.post(f"/api/v1/alerts/{drafted['id']}/cancel/", {}, format="json").status_code == 409


# --- reading them -----------------------------------------------------------------------------------------


def test_the_list_filters_by_incident_and_state(commander, shenzhen_incident):
    one, other = shenzhen_incident(), shenzhen_incident()
    first = issued(commander, one)
    drafted = draft(commander, other)
    listed = commander.get(f"/api/v1/alerts/?incident={one['id']}").json()["results"]
    assert [alert["id"] for alert in listed] == [first["id"]]
    assert [a["id"] for a in commander.get("/api/v1/alerts/?state=draft").json()["results"]] == [drafted["id"]]


def test_the_list_of_issued_alerts_takes_a_constant_number_of_queries(commander, shenzhen_incident,
                                                                      django_assert_num_queries):
    for _ in range(4):
        issued(commander, shenzhen_incident())
    commander.get("/api/v1/alerts/")  # warm the token and sharing caches
    for size in (2, 4):
        # count, page (with each incident's public id, joined), info blocks, their resources,
        # their areas, references, affected jurisdictions, the alerts each one replaces
        with django_assert_num_queries(8):
            response = commander.get(f"/api/v1/alerts/?page_size={size}")
        assert [alert["incident"] is not None for alert in response.json()["results"]] == [True] * size


def test_every_event_of_the_flow_matches_its_schema(commander, shenzhen_incident):
    first = issued(commander, shenzhen_incident())
    update = commander.post(f"/api/v1/alerts/{first['id']}/update/", {}, format="json").json()
    commander.post(f"/api/v1/alerts/{update['id']}/cancel/", {}, format="json")
    names = []
    for event in Event.objects.filter(name__startswith="alert.").order_by("id"):
        validate_payload(event.name, event.payload)
        names.append(event.name)
    assert names == ["alert.drafted", "alert.issued", "alert.updated", "alert.cancelled"]


# --- racing issuers (PostgreSQL: real row locks) ---------------------------------------------------------


def _race(clients, call) -> list[int]:
    import threading

    from django.db import connection

    statuses, errors = [], []
    start = threading.Barrier(len(clients))

    def run(client):
        try:
            start.wait()
            statuses.append(call(client).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_racing_drafts_take_distinct_identifiers_and_racing_updates_one_wins(postgres, api_as, shenzhen_incident):
    incident = shenzhen_incident()
    commanders = [api_as(SHENZHEN, role="commander") for _ in range(4)]
    statuses = _race(commanders, lambda c: c.post("/api/v1/alerts/", {"incident": incident["id"]}, format="json"))
    assert statuses == [201] * 4
    identifiers = sorted(Alert.objects.values_list("identifier", flat=True))
    assert identifiers == [f"{incident['id']}-A{n}" for n in range(1, 5)]

    first = approve(commanders[0], {"id": str(Alert.objects.get(identifier=identifiers[0]).pk)})
    statuses = _race(commanders[:2], lambda c: c.post(f"/api/v1/alerts/{first['id']}/update/", {}, format="json"))
    assert statuses == [201, 409]  # the second finds the alert updated already
    assert Alert.objects.filter(msg_type="Update").count() == 1
