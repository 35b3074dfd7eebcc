"""GET /feeds/alerts.atom and the CAP documents it links to: public, and nothing restricted."""

import pytest
from lxml import etree

from incidents.alerts.cap import Reference, parse_cap
from tests.alerts.capdocs import cap_document, post_cap, soon, zhuhai_info
from tests.alerts.support import assert_valid_cap, fixture_bytes
from tests.conftest import ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

ATOM = "{http://www.w3.org/2005/Atom}"
SENDER = "warning@zhuhai-met.example.cn"


def feed_entries(client) -> list[etree._Element]:
    response = client.get("/feeds/alerts.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "public" in response["Cache-Control"]
    root = etree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def cap_link(entry) -> str:
    (link,) = entry.findall(f"{ATOM}link")
    assert (link.get("rel"), link.get("type")) == ("alternate", "application/cap+xml")
    return link.get("href")


@pytest.fixture
def published(api_as):
    """One alert of each kind that must stay off the feed, and one that belongs on it."""
    zhuhai = api_as(ZHUHAI)

    def imported(identifier, **changes):
        response = post_cap(zhuhai, cap_document(identifier, **changes))
        assert response.status_code == 201, response.content
        return response.json()["id"]

    ids = {
        "public": imported("ZH-PUBLIC"),
        "restricted": imported("ZH-RESTRICTED", scope="Restricted", restriction="responders"),
        "private": imported("ZH-PRIVATE", scope="Private", addresses=["440300"]),
        "exercise": imported("ZH-EXERCISE", status="Exercise"),
        "test": imported("ZH-TEST", status="Test"),
        "draft": imported("ZH-DRAFT", status="Draft"),
        "expired": imported("ZH-EXPIRED", infos=[zhuhai_info(expires=soon(-1))]),
        "updated": imported("ZH-UPDATED", sent=soon(-2)),
        "cancelled": imported("ZH-CANCELLED", sent=soon(-2)),
    }
    ids["update"] = imported("ZH-UPDATE", msg_type="Update", references=[Reference(SENDER, "ZH-UPDATED", soon(-2))])
    ids["cancel"] = imported("ZH-CANCEL", msg_type="Cancel", infos=[],
                             references=[Reference(SENDER, "ZH-CANCELLED", soon(-2))])
    return ids


def test_the_feed_lists_only_active_real_public_alerts(client, published):
    entries = feed_entries(client)

    links = sorted(cap_link(entry) for entry in entries)
    assert links == sorted(f"http://testserver/feeds/alerts/{published[name]}.cap" for name in ("public", "update"))
    titles = {entry.findtext(f"{ATOM}title") for entry in entries}
    assert titles == {"台风橙色预警信号"}
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "珠海市气象台"
    assert entry.findtext(f"{ATOM}updated") and entry.findtext(f"{ATOM}published")
    assert entry.find(f"{ATOM}category").get("term") == "Met"


def test_each_entry_links_to_its_cap_document_for_anyone(client, published):
    for entry in feed_entries(client):
        response = client.get(cap_link(entry).removeprefix("http://testserver"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/cap+xml"
        assert_valid_cap(response.content)
        alert = parse_cap(response.content)
        assert alert.scope == "Public" and alert.status == "Actual"
        # What a stranger may not have is not published.
        assert b"<contact>" not in response.content and all(info.contact is None for info in alert.infos)


@pytest.mark.parametrize("name", ["restricted", "private", "exercise", "test", "draft"])
def test_the_public_document_url_does_not_serve_what_is_not_public(client, published, name):
    assert client.get(f"/feeds/alerts/{published[name]}.cap").status_code == 404


@pytest.mark.parametrize("name", ["cancelled", "cancel", "expired"])
def test_a_public_document_stays_readable_after_its_alert_ends(client, published, name):
    assert client.get(f"/feeds/alerts/{published[name]}.cap").status_code == 200


def test_the_feed_leaks_nothing_restricted(client, published):
    content = client.get("/feeds/alerts.atom").content
    for name in ("restricted", "private", "exercise", "test", "draft"):
        assert published[name].encode() not in content
    assert b"0756-0000000" not in content


def test_an_empty_feed_is_a_valid_feed(client, gba):
    assert feed_entries(client) == []


def test_the_feed_and_documents_need_no_credentials_and_ignore_bad_ones(client, api_as):
    post_cap(api_as(ZHUHAI), cap_document("ZH-ANY"))
    response = client.get("/feeds/alerts.atom", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200 and b"ZH-ANY" not in response.content
    assert len(etree.fromstring(response.content).findall(f"{ATOM}entry")) == 1


def test_our_exercise_fixture_never_reaches_the_feed(client, api_as):
    post_cap(api_as(ZHUHAI), fixture_bytes("zhuhai-typhoon-warning.xml").replace(
        b"2024-09-06T20:00:00+08:00", soon(24).isoformat().encode()))
    assert feed_entries(client) == []


def test_unknown_documents_and_methods_are_refused(client, published):
    assert client.get("/feeds/alerts/00000000-0000-0000-0000-000000000000.cap").status_code == 404
    assert client.get("/feeds/alerts/not-a-uuid.cap").status_code == 404
    assert client.post(f"/feeds/alerts/{published['public']}.cap").status_code == 405


def test_the_feed_takes_a_constant_number_of_queries(client, api_as, django_assert_num_queries):
    zhuhai = api_as(ZHUHAI)
    post_cap(zhuhai, cap_document("ZH-Q0"))
    # the alerts, their info blocks
    with django_assert_num_queries(2):
        assert len(feed_entries(client)) == 1
    for n in range(1, 6):
        post_cap(zhuhai, cap_document(f"ZH-Q{n}"))
    with django_assert_num_queries(2):
        assert len(feed_entries(client)) == 6
