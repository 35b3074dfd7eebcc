"""/api/v1/people/…: an officer's own contact methods and quiet hours, others' for those who may
see them (404 otherwise, audited), and no API client at all (403)."""

import pytest
from rest_framework.test import APIClient

from coordination.models import AuditEntry
from coordination.people.models import ContactMethod
from coordination.services import officer_token_issue
from tests.conftest import DONGGUAN, SHENZHEN
from tests.people.conftest import SUBSCRIPTION

pytestmark = pytest.mark.django_db

MINE = "/api/v1/people/me/contact-methods/"


@pytest.fixture
def officer_api(make_officer):
    def make(username, jurisdiction=SHENZHEN, role="operator", language="en"):
        user = make_officer(username, jurisdiction, role)
        raw, _ = officer_token_issue(username=username, password="pw-Secret-123", ip="127.0.0.1")
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.user = user
        return client

    return make


def problem(response, status):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_my_contact_methods_round_trip(officer_api):
    me = officer_api("sz-duty")
    assert me.get(MINE).json() == []
    created = me.post(MINE, {"channel": "sms", "address": "138 0013 8000", "label": "work phone"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["address"] == "+8613800138000" and body["position"] == 0 and body["wait_minutes"] == 5
    robot = me.post(MINE, {"channel": "dingtalk", "secret": "SECsigning",
                           "address": "https://oapi.dingtalk.com/robot/send?access_token=abc"}, format="json").json()
    assert robot["has_secret"] is True and "secret" not in robot
    push = me.post(MINE, {"channel": "webpush", "address": SUBSCRIPTION, "wait_minutes": 0}, format="json")
    assert push.status_code == 201, push.content
    listed = me.get(MINE)
    assert [m["channel"] for m in listed.json()] == ["sms", "dingtalk", "webpush"]
    assert "SECsigning" not in listed.content.decode()
    one = f"{MINE}{robot['id']}/"
    assert me.get(one).json()["id"] == robot["id"]
    changed = me.patch(one, {"wait_minutes": 15, "active": False}, format="json").json()
    assert (changed["wait_minutes"], changed["active"]) == (15, False)
    order = me.post(f"{MINE}order/", {"ids": [push.json()["id"], body["id"], robot["id"]]}, format="json")
    assert [m["position"] for m in order.json()] == [0, 1, 2]
    assert [m["channel"] for m in me.get(MINE).json()] == ["webpush", "sms", "dingtalk"]
    assert me.delete(one).status_code == 204
    assert [m["position"] for m in me.get(MINE).json()] == [0, 1]


def test_problems_name_the_field_in_the_callers_language(officer_api):
    me = officer_api("sz-duty")
    assert problem(me.post(MINE, {"channel": "sms", "address": "12345"}, format="json"), 400)["errors"] == {
        "address": ["Enter a valid mobile number; for Hong Kong or Macao start with +852 or +853."]}
    zh = officer_api("sz-zh", language="zh-hans")
    assert "手机号码" in problem(zh.post(MINE, {"channel": "sms", "address": "12345"}, format="json"), 400)[
        "errors"]["address"][0]
    assert "channel" in problem(me.post(MINE, {"channel": "pager", "address": "x"}, format="json"), 400)["errors"]
    assert "surprise" in problem(me.post(MINE, {"channel": "email", "address": "a@b.example", "surprise": 1},
                                         format="json"), 400)["errors"]
    assert "wait_minutes" in problem(me.post(MINE, {"channel": "email", "address": "a@b.example",
                                                    "wait_minutes": 241}, format="json"), 400)["errors"]
    me.post(MINE, {"channel": "email", "address": "a@b.example"}, format="json")
    problem(me.post(MINE, {"channel": "email", "address": "a@b.example"}, format="json"), 409)
    assert "ids" in problem(me.post(f"{MINE}order/", {"ids": [1, 2, 3]}, format="json"), 400)["errors"]


def test_someone_elses_method_is_not_found_under_me(officer_api):
    owner, other = officer_api("sz-a"), officer_api("sz-b")
    method = owner.post(MINE, {"channel": "email", "address": "a@sz.example"}, format="json").json()
    problem(other.get(f"{MINE}{method['id']}/"), 404)
    problem(other.patch(f"{MINE}{method['id']}/", {"label": "mine now"}, format="json"), 404)
    problem(other.delete(f"{MINE}{method['id']}/"), 404)
    assert ContactMethod.objects.filter(pk=method["id"], label="").exists()


def test_api_clients_are_refused(api_as, officer_api):
    owner = officer_api("sz-a")
    system = api_as(SHENZHEN)
    for path in (MINE, "/api/v1/people/me/notification-policy/", f"/api/v1/people/{owner.user.pk}/contact-methods/"):
        problem(system.get(path), 403)
    problem(system.post(MINE, {"channel": "email", "address": "a@sz.example"}, format="json"), 403)
    problem(APIClient().get(MINE), 401)


def test_reading_anothers_contact_methods(officer_api):
    owner = officer_api("sz-a")
    owner.post(MINE, {"channel": "email", "address": "a@sz.example"}, format="json")
    path = f"/api/v1/people/{owner.user.pk}/contact-methods/"
    assert owner.get(path).json()[0]["address"] == "a@sz.example"
    assert not AuditEntry.objects.filter(action="contacts.read").exists()
    commander = officer_api("sz-commander", role="commander")
    assert commander.get(path).json()[0]["address"] == "a@sz.example"
    assert AuditEntry.objects.filter(action="contacts.read", object_id=str(owner.user.pk)).count() == 1
    problem(officer_api("sz-viewer", role="viewer").get(path), 404)
    problem(officer_api("dg-commander", DONGGUAN, role="commander").get(path), 404)
    assert officer_api("dg-coordinator", DONGGUAN, role="coordinator").get(path).status_code == 200
    problem(commander.get("/api/v1/people/99999999/contact-methods/"), 404)


def test_notification_policy(officer_api):
    me = officer_api("sz-duty")
    url = "/api/v1/people/me/notification-policy/"
    assert me.get(url).json() == {"quiet_start": None, "quiet_end": None, "time_zone": "Asia/Shanghai",
                                  "time_zone_is_default": True}
    put = me.put(url, {"quiet_start": "22:00", "quiet_end": "07:00", "time_zone": "Asia/Hong_Kong"}, format="json")
    assert put.status_code == 200, put.content
    assert put.json() == {"quiet_start": "22:00:00", "quiet_end": "07:00:00", "time_zone": "Asia/Hong_Kong",
                          "time_zone_is_default": False}
    assert "quiet_end" in problem(me.put(url, {"quiet_start": "22:00", "quiet_end": None}, format="json"), 400)[
        "errors"]
    cleared = me.put(url, {"quiet_start": None, "quiet_end": None}, format="json").json()
    assert cleared["quiet_start"] is None and cleared["time_zone_is_default"] is True


def test_the_schema_documents_the_endpoints(client):
    document = client.get("/api/schema/", {"format": "json"}).json()
    assert {"/api/v1/people/me/contact-methods/", "/api/v1/people/me/contact-methods/{id}/",
            "/api/v1/people/me/contact-methods/order/", "/api/v1/people/me/notification-policy/",
            "/api/v1/people/{user_id}/contact-methods/"} <= set(document["paths"])
    created = document["components"]["schemas"]["ContactMethod"]
    assert "secret" not in created["properties"]
