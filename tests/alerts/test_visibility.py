"""Who sees which alert, and what of it: JSON list and detail, and the CAP export, all by the
one rule (sharing.visibility) plus CAP's Public scope."""

import pytest
from lxml import etree

from incidents.alerts.models import Alert
from incidents.alerts.selectors import alert_decision, alert_list_visible_to
from sharing.models import SharingAgreement
from sharing.visibility import Viewer, sharing_changed
from tests.alerts.capdocs import cap_document, geocoded, post_cap, zhuhai_info
from tests.alerts.support import assert_valid_cap
from tests.conftest import DONGGUAN, HUIZHOU, JIANGMEN, SHENZHEN, ZHONGSHAN, ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
GUANGDONG_PROVINCE = "440000"  # registered, but a member of no cluster


def zhuhai_alert(api_as, identifier: str, *, scope: str = "Restricted", severity: str = "Minor",
                 codes: tuple[str, ...] = (ZHUHAI,)) -> str:
    infos = [zhuhai_info(severity=severity, areas=[geocoded(*codes)]),
             zhuhai_info("en-US", severity=severity, areas=[geocoded(*codes)])]
    extra = {"restriction": "emergency services"} if scope == "Restricted" else {}
    response = post_cap(api_as(ZHUHAI), cap_document(identifier, scope=scope, infos=infos, **extra))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def contacts_in(document: bytes) -> list[str]:
    return [element.text for element in etree.fromstring(document).iter(f"{CAP}contact")]


def test_a_restricted_zhuhai_alert_is_a_404_for_a_jurisdiction_that_may_not_see_it(api_as):
    alert_id = zhuhai_alert(api_as, "ZH-R-IV")
    huizhou = api_as(HUIZHOU)

    for path in (f"/api/v1/alerts/{alert_id}/", f"/api/v1/alerts/{alert_id}/cap/"):
        response = huizhou.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["detail"] == f"No alert {alert_id}."
    assert huizhou.get("/api/v1/alerts/").json()["count"] == 0
    # The same 404 as for an alert that does not exist.
    assert huizhou.get("/api/v1/alerts/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize(
    "severity, viewer, visible",
    [
        ("Minor", ZHUHAI, True),  # own
        ("Minor", JIANGMEN, False),  # a neighbour sees level III and above
        ("Minor", SHENZHEN, False),  # so does a core city
        ("Moderate", JIANGMEN, True),
        ("Moderate", SHENZHEN, True),
        ("Moderate", HUIZHOU, False),
        ("Severe", HUIZHOU, True),  # level II: the whole cluster
        ("Severe", GUANGDONG_PROVINCE, False),  # outside the cluster
        ("Unknown", JIANGMEN, False),  # read as IV, the level shared least
    ],
)
def test_restricted_alerts_follow_the_cluster_default(api_as, severity, viewer, visible):
    alert_id = zhuhai_alert(api_as, "ZH-R", severity=severity)
    response = api_as(viewer).get(f"/api/v1/alerts/{alert_id}/")
    assert response.status_code == (200 if visible else 404)


def test_a_jurisdiction_an_alert_concerns_sees_it_without_the_contacts(api_as):
    alert_id = zhuhai_alert(api_as, "ZH-R-ZS", codes=(ZHUHAI, ZHONGSHAN))
    zhongshan = api_as(ZHONGSHAN)

    body = zhongshan.get(f"/api/v1/alerts/{alert_id}/").json()
    assert body["affected_jurisdictions"] == [ZHUHAI, ZHONGSHAN]
    assert all("contact" not in info for info in body["info"])
    exported = zhongshan.get(f"/api/v1/alerts/{alert_id}/cap/").content
    assert_valid_cap(exported)
    assert contacts_in(exported) == []
    # The owner keeps them.
    owner_export = api_as(ZHUHAI).get(f"/api/v1/alerts/{alert_id}/cap/").content
    assert contacts_in(owner_export) == ["0756-0000000", "0756-0000000"]
    assert api_as(ZHUHAI).get(f"/api/v1/alerts/{alert_id}/").json()["info"][0]["contact"] == "0756-0000000"


def test_an_agreement_can_share_the_alert_and_its_contacts(api_as, gba):
    alert_id = zhuhai_alert(api_as, "ZH-R-AG")
    agreement = SharingAgreement.objects.create(name="Zhuhai to Huizhou", cluster=gba, grantor_id=ZHUHAI,
                                                data_kinds=["incidents"], withheld_fields=[])
    agreement.grantees.add(HUIZHOU)
    sharing_changed()

    exported = api_as(HUIZHOU).get(f"/api/v1/alerts/{alert_id}/cap/")
    assert exported.status_code == 200
    assert contacts_in(exported.content) == ["0756-0000000", "0756-0000000"]


def test_a_coordinator_sees_the_cluster_but_not_the_contacts(api_as):
    alert_id = zhuhai_alert(api_as, "ZH-R-CO")
    assert api_as(HUIZHOU, role="operator").get(f"/api/v1/alerts/{alert_id}/").status_code == 404
    body = api_as(HUIZHOU, role="coordinator").get(f"/api/v1/alerts/{alert_id}/").json()
    assert body["identifier"] == "ZH-R-CO" and "contact" not in body["info"][0]


def test_a_public_alert_is_for_every_principal_as_for_a_stranger(api_as):
    alert_id = zhuhai_alert(api_as, "ZH-P-IV", scope="Public")

    for viewer in (HUIZHOU, GUANGDONG_PROVINCE):
        client = api_as(viewer, scopes=["read"])
        body = client.get(f"/api/v1/alerts/{alert_id}/").json()
        assert body["scope"] == "Public" and "contact" not in body["info"][0]
        assert contacts_in(client.get(f"/api/v1/alerts/{alert_id}/cap/").content) == []
        assert [alert["id"] for alert in client.get("/api/v1/alerts/").json()["results"]] == [alert_id]


def test_the_list_and_the_single_decision_agree(api_as, principal_for):
    for n, (scope, severity, codes) in enumerate([
        ("Restricted", "Minor", (ZHUHAI,)), ("Restricted", "Moderate", (ZHUHAI,)),
        ("Restricted", "Severe", (ZHUHAI,)), ("Private", "Minor", (ZHUHAI, DONGGUAN)),
        ("Public", "Minor", (ZHUHAI,)), ("Restricted", "Extreme", (JIANGMEN,)),
    ]):
        zhuhai_alert(api_as, f"ZH-{n}", scope=scope, severity=severity, codes=codes)
    every = list(alert_list_visible_to(principal=principal_for(ZHUHAI)))
    assert len(every) == 6

    for code, role in [(ZHUHAI, None), (JIANGMEN, None), (SHENZHEN, None), (HUIZHOU, None), (DONGGUAN, None),
                       (HUIZHOU, "coordinator"), (GUANGDONG_PROVINCE, None)]:
        principal = principal_for(code, role=role)
        listed = {alert.pk for alert in alert_list_visible_to(principal=principal)}
        decided = {alert.pk for alert in Alert.objects.all() if alert_decision(viewer=Viewer.of(principal),
                                                                               alert=alert)}
        assert listed == decided, (code, role)


def test_the_list_takes_a_constant_number_of_queries(api_as, django_assert_num_queries):
    for n in range(6):
        zhuhai_alert(api_as, f"ZH-Q{n}", scope="Public")
    client = api_as(ZHUHAI)
    client.get("/api/v1/alerts/")  # warm the token and sharing caches
    for size in (2, 6):
        # count, page, info blocks, their resources, their areas, references, affected
        # jurisdictions, the alerts each one replaces
        with django_assert_num_queries(8):
            response = client.get(f"/api/v1/alerts/?page_size={size}")
        assert len(response.json()["results"]) == size


@pytest.mark.parametrize(
    "query, expected",
    [
        ("jurisdiction=442000", ["ZH-ZS"]),
        ("scope=Public", ["ZH-PUB"]),
        ("level_at_least=III", ["ZH-ZS"]),
        ("owner=440400", ["ZH-PUB", "ZH-ZS"]),
        ("owner=440300", []),
        ("exercise=false", ["ZH-PUB", "ZH-ZS"]),
        ("exercise=true", []),
        ("msg_type=Alert&signature=absent&status=Actual", ["ZH-PUB", "ZH-ZS"]),
        ("identifier=ZH-PUB&sender=warning@zhuhai-met.example.cn", ["ZH-PUB"]),
        ("sent_after=2000-01-01T00:00:00Z&state=active", ["ZH-PUB", "ZH-ZS"]),
        ("sent_before=2000-01-01T00:00:00Z", []),
    ],
)
def test_it_filters_alerts(api_as, query, expected):
    zhuhai_alert(api_as, "ZH-ZS", severity="Moderate", codes=(ZHUHAI, ZHONGSHAN))
    zhuhai_alert(api_as, "ZH-PUB", scope="Public")
    response = api_as(ZHUHAI).get(f"/api/v1/alerts/?{query}")
    assert response.status_code == 200, response.content
    assert sorted(alert["identifier"] for alert in response.json()["results"]) == expected


@pytest.mark.parametrize("query, field", [("state=gone", "state"), ("jurisdiction=999999", "jurisdiction"),
                                          ("exercise=maybe", "exercise"), ("sent_after=yesterday", "sent_after"),
                                          ("level_at_least=V", "level_at_least"), ("scope=public", "scope")])
def test_bad_filters_are_named_in_a_400(api_as, query, field):
    response = api_as(ZHUHAI).get(f"/api/v1/alerts/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("accept, status, content_type", [
    ("application/cap+xml", 200, "application/cap+xml"),
    ("application/xml", 200, "application/xml"),
    ("*/*", 200, "application/cap+xml"),
    ("application/json", 406, "application/problem+json"),
])
def test_the_export_answers_the_xml_media_types(api_as, accept, status, content_type):
    alert_id = zhuhai_alert(api_as, "ZH-X")
    response = api_as(ZHUHAI).get(f"/api/v1/alerts/{alert_id}/cap/", HTTP_ACCEPT=accept)
    assert (response.status_code, response["Content-Type"]) == (status, content_type)


def test_reading_needs_credentials_and_the_read_scope(api_as, anonymous):
    alert_id = zhuhai_alert(api_as, "ZH-A", scope="Public")
    assert anonymous.get(f"/api/v1/alerts/{alert_id}/").status_code == 401
    assert anonymous.get(f"/api/v1/alerts/{alert_id}/cap/").status_code == 401
    assert api_as(ZHUHAI, scopes=["alerts:write"]).get("/api/v1/alerts/").status_code == 403
