"""POST /api/v1/cap/: who may import, what comes back, every bad input a sender can send."""

import threading
import time

import pytest
from django.db import connection

from coordination.models import AuditEntry
from incidents.alerts.cap import Reference
from incidents.alerts.models import Alert, AlertInfo
from tests.alerts.capdocs import CAP, cap_document, post_cap, soon, zhuhai_info
from tests.alerts.support import fixture_bytes
from tests.conftest import HUIZHOU, SHENZHEN, ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

WARNING = "zhuhai-typhoon-warning.xml"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


# --- importing -------------------------------------------------------------------------------------


def test_it_imports_a_cap_alert_and_answers_with_the_alert(api_as):
    response = post_cap(api_as(ZHUHAI), fixture_bytes(WARNING))

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/alerts/{body['id']}/"
    assert body["identifier"] == "CN-GD-ZH-QXT-20240905-0001"
    assert body["sender"] == "warning@zhuhai-met.example.cn"
    assert body["sent"] == "2024-09-05T08:00:00+08:00"
    assert (body["msg_type"], body["scope"], body["status"]) == ("Alert", "Public", "Exercise")
    assert body["exercise"] is True
    assert body["signature"] == "absent"
    assert body["owner"] == ZHUHAI and body["cluster"] == "GBA"
    assert body["incident"] is None
    assert {"440400", "442000", "820000"} <= set(body["affected_jurisdictions"])
    assert [info["language"] for info in body["info"]] == ["zh-CN", "en-US"]
    assert body["info"][0]["contact"] == "0756-0000000"
    assert body["info"][0]["area"][1]["circle"] == [{"lat": 22.35, "lon": 113.5, "radius_km": 40.0}]
    assert body["info"][0]["area"][1]["ceiling"] == 3000.5
    assert body["level"] == "II" and body["category"] == "natural_disaster"
    # Expired on 2024-09-06: an active alert past its expiry reads as expired.
    assert body["state"] == "expired"
    stored = Alert.objects.get()
    assert bytes(stored.document) == fixture_bytes(WARNING)


@pytest.mark.parametrize("content_type", [CAP, "application/xml", "text/xml", "application/cap+xml; charset=utf-8"])
def test_it_accepts_the_xml_media_types(api_as, content_type):
    assert post_cap(api_as(ZHUHAI), cap_document(), content_type=content_type).status_code == 201


@pytest.mark.parametrize("encoding", ["GB18030", "GBK", "UTF-16"])
def test_a_document_in_a_chinese_or_utf_16_encoding_is_read_as_declared(api_as, encoding):
    text = cap_document("ZH-ENC").decode().replace("encoding='UTF-8'", f"encoding='{encoding}'")

    response = post_cap(api_as(ZHUHAI), text.encode(encoding))

    assert response.status_code == 201, response.content
    assert response.json()["info"][0]["headline"] == "台风橙色预警信号"
    exported = api_as(ZHUHAI).get(f"/api/v1/alerts/{response.json()['id']}/cap/").content
    assert exported.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "台风橙色预警信号".encode() in exported


def test_it_answers_with_json_whatever_the_sender_accepts(api_as):
    response = api_as(ZHUHAI).post("/api/v1/cap/", data=cap_document(), content_type=CAP,
                                   HTTP_ACCEPT="application/cap+xml")
    assert response.status_code == 201 and response["Content-Type"] == "application/json"


def test_the_same_identifier_and_sender_twice_changes_nothing(api_as):
    client = api_as(ZHUHAI)
    first = post_cap(client, cap_document("ZH-1"))
    rows = (Alert.objects.count(), AlertInfo.objects.count(), AuditEntry.objects.count())

    again = post_cap(client, cap_document("ZH-1"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert (Alert.objects.count(), AlertInfo.objects.count(), AuditEntry.objects.count()) == rows


def test_another_jurisdictions_import_of_a_held_message_is_refused_and_shows_nothing(api_as):
    """Only Zhuhai may use Zhuhai's sender: Huizhou posting the same document learns nothing of
    Zhuhai's record (neither the alert nor that it is held) and stores nothing."""
    restricted_minor = cap_document(
        "ZH-R", scope="Restricted", restriction="emergency services",
        infos=[zhuhai_info(severity="Minor")],
    )
    public = cap_document("ZH-P")
    for document in (restricted_minor, public):
        held = post_cap(api_as(ZHUHAI), document)
        assert held.status_code == 201

        again = assert_problem(post_cap(api_as(HUIZHOU), document), 403)

        assert again["type"] == "/problems/cap-sender-not-allowed"
        assert again["sender"] == "warning@zhuhai-met.example.cn" and held.json()["id"] not in str(again)
    assert list(Alert.objects.values_list("owner_id", flat=True)) == [ZHUHAI, ZHUHAI]


@pytest.mark.django_db(transaction=True)
def test_racing_imports_of_one_message_store_it_once(postgres, credentials):
    """One 201, the rest 200: the jurisdiction's lock and the unique constraint behind it decide."""
    from rest_framework.test import APIClient

    tokens = [credentials.token(ZHUHAI) for _ in range(6)]
    document = cap_document("ZH-RACE")
    statuses, errors = [], []
    start = threading.Barrier(len(tokens))

    def importer(token):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            start.wait()
            statuses.append(post_cap(client, document).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=importer, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert sorted(statuses) == [200] * 5 + [201]
    assert Alert.objects.filter(identifier="ZH-RACE").count() == 1
    assert AlertInfo.objects.count() == 2


# --- who may import -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status",
    [
        ({"role": "viewer"}, 403),
        ({"role": "operator"}, 403),
        ({"role": "commander"}, 201),
        ({"role": "coordinator"}, 201),
        ({"scopes": ["read"]}, 403),
        ({"scopes": ["incidents:write"]}, 403),
        ({"scopes": ["alerts:write"]}, 201),
    ],
)
def test_commanders_and_clients_with_alerts_write_may_import(api_as, who, status):
    response = post_cap(api_as(ZHUHAI, **who), cap_document())
    assert response.status_code == status, response.content
    assert Alert.objects.count() == (1 if status == 201 else 0)


def test_an_anonymous_import_is_401(anonymous, gba):
    assert_problem(post_cap(anonymous, cap_document()), 401)


def test_the_importers_jurisdiction_owns_the_alert(api_as, register_sender):
    register_sender("*@shenzhen-gov.example", SHENZHEN)
    body = post_cap(api_as(SHENZHEN, role="commander"), cap_document(sender="eoc@shenzhen-gov.example")).json()
    assert body["owner"] == SHENZHEN
    assert Alert.objects.get().imported_by.startswith("commander-")


# --- bad input ------------------------------------------------------------------------------------------


def test_another_media_type_is_415(api_as):
    assert_problem(api_as(ZHUHAI).post("/api/v1/cap/", {"identifier": "x"}, format="json"), 415)


def test_an_empty_body_is_400(api_as):
    assert_problem(post_cap(api_as(ZHUHAI), b""), 400)
    assert_problem(post_cap(api_as(ZHUHAI), b"  \n"), 400)


def test_a_body_over_cap_max_bytes_is_413(api_as, settings):
    settings.CAP_MAX_BYTES = 2048
    document = cap_document(infos=[zhuhai_info(description="台" * 1000)])
    assert len(document) > 2048
    assert_problem(post_cap(api_as(ZHUHAI), document), 413)
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "document, code, line, element",
    [
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x", "not_well_formed", 1, None),
        (b"<?xml version='1.0'?>\n<feed xmlns='http://www.w3.org/2005/Atom'/>", "not_cap", 2, "feed"),
        (fixture_bytes(WARNING).replace(b"<status>Exercise</status>", b"<status>Real</status>"), "schema", 7,
         "status"),
        (fixture_bytes(WARNING).replace(b"  <scope>Public</scope>\n", b""), "schema", 10, "addresses"),
        (fixture_bytes("zhuhai-typhoon-update.xml").replace(
            b"warning@zhuhai-met.example.cn,CN-GD-ZH-QXT-20240905-0001,2024-09-05T08:00:00+08:00",
            b"CN-GD-ZH-QXT-20240905-0001"), "schema", 10, "references"),
        (fixture_bytes(WARNING).replace(b"<ceiling>3000.5</ceiling>", b"<ceiling>high</ceiling>"), "schema", 75,
         "ceiling"),
    ],
    ids=["not-well-formed", "not-cap", "bad-enumeration", "missing-element", "bad-references", "bad-decimal"],
)
def test_a_rejected_document_is_400_with_reason_line_and_element(api_as, document, code, line, element):
    body = assert_problem(post_cap(api_as(ZHUHAI), document), 400)

    assert body["type"] == "/problems/cap-rejected"
    assert (body["code"], body["line"], body["element"]) == (code, line, element)
    assert body["reason"].strip() and body["reason"] in body["detail"]
    assert not Alert.objects.exists()
    audit = AuditEntry.objects.get(action="alert.import_rejected")
    assert audit.detail["code"] == code and audit.actor_jurisdiction == ZHUHAI


EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>"""
DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>"""
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
    )
    + b']>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&lol9;</note></alert>'
)


@pytest.mark.parametrize("document", [EXTERNAL_ENTITY, DTD_ONLY, BILLION_LAUGHS],
                         ids=["external-entity", "external-dtd", "billion-laughs"])
def test_dtds_and_entities_are_refused_without_expansion(api_as, document):
    started = time.monotonic()
    body = assert_problem(post_cap(api_as(ZHUHAI), document), 400)

    assert time.monotonic() - started < 2  # a billion laughs expanded would take far longer
    assert body["code"] == "unsafe"
    assert "root:" not in body["detail"] and "lol" not in body["detail"]
    assert not Alert.objects.exists()


@pytest.mark.parametrize("msg_type", ["Ack", "Error"])
def test_an_ack_or_error_is_not_an_alert(api_as, msg_type):
    reference = Reference("warning@zhuhai-met.example.cn", "ZH-0", soon())
    body = assert_problem(post_cap(api_as(ZHUHAI), cap_document(msg_type=msg_type, references=[reference])), 400)
    assert (body["code"], body["element"]) == ("unsupported", "msgType")


def test_an_identifier_too_long_to_index_is_refused(api_as):
    body = assert_problem(post_cap(api_as(ZHUHAI), cap_document("Z" * 256)), 400)
    assert (body["code"], body["element"]) == ("unsupported", "identifier")


def test_a_number_beyond_a_float_is_refused_not_a_500(api_as):
    document = fixture_bytes(WARNING).replace(b"<ceiling>3000.5</ceiling>", b"<ceiling>" + b"9" * 400 + b"</ceiling>")
    body = assert_problem(post_cap(api_as(ZHUHAI), document), 400)
    assert body["element"] == "ceiling"


def test_unusable_shapes_are_set_aside_and_the_alert_imported(api_as):
    document = fixture_bytes(WARNING).replace(
        b"22.45,113.25 22.45,113.7 21.95,113.7 21.95,113.25 22.45,113.25", b"95,500 96,501 97,502 95,500"
    ).replace(b"22.35,113.5 40", b"22.35,113.5 99999999")
    response = post_cap(api_as(ZHUHAI), document)
    assert response.status_code == 201
    assert {"440400", "442000", "820000"} <= set(response.json()["affected_jurisdictions"])


# --- the schema ---------------------------------------------------------------------------------------------


def test_the_openapi_schema_describes_the_cap_endpoints(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    assert "application/cap+xml" in paths["/api/v1/cap/"]["post"]["requestBody"]["content"]
    assert "application/cap+xml" in paths["/api/v1/alerts/{id}/cap/"]["get"]["responses"]["200"]["content"]
    listed = paths["/api/v1/alerts/"]["get"]["parameters"]
    assert {"state", "msg_type", "jurisdiction", "signature", "exercise"} <= {p["name"] for p in listed}
    alert = schema["components"]["schemas"]["Alert"]["properties"]
    assert {"id", "identifier", "sender", "sent", "msg_type", "scope", "state", "signature",
            "affected_jurisdictions", "incident", "info"} <= set(alert)
