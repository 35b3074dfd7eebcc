"""A request's history exports as a thread of EDXL-RM 1.0 messages, in an EDXL-DE 1.0
distribution: every message identified, every reply naming the thread's first message and
the one it answers, each offerer's messages seen only by those who may see its offer."""

from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from tests.conftest import JIANGMEN, MACAO, SHENZHEN, ZHONGSHAN, ZHUHAI

pytestmark = pytest.mark.django_db

URL = "/api/v1/resource-requests/"
NS = {"de": "urn:oasis:names:tc:emergency:EDXL:DE:1.0", "rmsg": "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg",
      "rm": "urn:oasis:names:tc:emergency:EDXL:RM:1.0", "gml": "http://www.opengis.net/gml"}
EDXL_DE = xmlschema.XMLSchema(Path(__file__).parent / "data" / "edxlde-1_0.xsd")


def export(client, request_id):
    response = client.get(f"{URL}{request_id}/edxl-rm/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    return response.content


def messages(document: bytes) -> list:
    root = etree.fromstring(document)
    return [content.find("de:xmlContent/de:embeddedXMLContent", NS)[0]
            for content in root.findall("de:contentObject", NS)]


def text(element, path):
    found = element.find(path, NS)
    return None if found is None else found.text


@pytest.fixture
def history(as_, zhuhai_flood):
    """Zhuhai asks, with a contact; both neighbours offer and are accepted; all goes home."""
    zhuhai = as_(ZHUHAI)
    request_id = zhuhai.post(URL, {"incident": zhuhai_flood.public_id, "resource_type": "drainage_pump",
                                   "quantity": 8, "needed_by": "2099-01-01T08:00:00+08:00",
                                   "location": {"name": "拱北", "lat": 22.22, "lon": 113.55},
                                   "contacts": [{"name": "Chen", "role": "duty officer", "phone": "0756-123"}]},
                             format="json").json()["id"]
    for code, quantity in ((ZHONGSHAN, 5), (JIANGMEN, 3)):
        offer_id = as_(code).post(f"{URL}{request_id}/offers/", {"quantity": quantity}, format="json").json()["id"]
        zhuhai.post(f"{URL}{request_id}/offers/{offer_id}/accept/", format="json")
    for action in ("dispatch", "arrive", "release", "return"):
        zhuhai.post(f"{URL}{request_id}/{action}/")
    return request_id


def test_the_thread_is_a_valid_edxl_de_distribution_of_the_seven_message_kinds(history, as_):
    document = export(as_(ZHUHAI, role="viewer"), history)
    EDXL_DE.validate(document)
    thread = messages(document)
    kinds = [etree.QName(message).localname for message in thread]
    assert kinds[0] == "RequestResource"
    assert set(kinds) == {"RequestResource", "ResponseToRequestResource", "CommitResource",
                          "ReportResourceDeploymentStatus", "ReleaseResource", "RequestReturn",
                          "ResponseToRequestReturn"}
    assert len(kinds) == 1 + 2 * 7  # the request, then seven messages per commitment
    for message in thread:
        assert etree.QName(message).namespace == NS["rmsg"]
        assert text(message, "rmsg:MessageContentType") == etree.QName(message).localname
        assert text(message, "rmsg:IncidentInformation/rm:IncidentID").startswith("INC-")


def test_every_reply_names_the_first_message_and_the_one_it_answers(history, as_):
    thread = messages(export(as_(ZHUHAI), history))
    ids = [text(message, "rmsg:MessageID") for message in thread]
    assert len(set(ids)) == len(ids)
    first = ids[0]
    assert text(thread[0], "rmsg:OriginatingMessageID") is None
    seen = {first}
    for message in thread[1:]:
        assert text(message, "rmsg:OriginatingMessageID") == first
        assert text(message, "rmsg:PrecedingMessageID") in seen  # answers something already sent
        seen.add(text(message, "rmsg:MessageID"))
    # Each commitment's messages chain one after the other, from the offer to the return.
    chain_of = {}
    for message in thread[1:]:
        chain_of.setdefault(text(message, "rmsg:ResourceInformation/rmsg:ResourceInfoElementID"), []).append(message)
    for chain in chain_of.values():
        assert [etree.QName(m).localname for m in chain] == [
            "ResponseToRequestResource", "CommitResource", "ReportResourceDeploymentStatus",
            "ReportResourceDeploymentStatus", "ReleaseResource", "RequestReturn", "ResponseToRequestReturn"]
        for earlier, later in zip(chain, chain[1:], strict=False):
            assert text(later, "rmsg:PrecedingMessageID") == text(earlier, "rmsg:MessageID")
        statuses = [text(m, "rmsg:ResourceInformation/rmsg:Resource/rmsg:ResourceStatus/rm:DeploymentStatus/rm:Value")
                    for m in chain]
        assert statuses[2:4] == ["Dispatched", "Arrived"]


def test_the_request_carries_type_quantity_place_and_time(history, as_):
    request = messages(export(as_(ZHUHAI), history))[0]
    info = request.find("rmsg:ResourceInformation", NS)
    assert text(info, "rmsg:Resource/rmsg:TypeStructure/rm:Value") == "drainage_pump"
    assert text(info, "rmsg:AssignmentInformation/rmsg:Quantity/rm:MeasuredQuantity/rm:Amount") == "8"
    assert text(info, "rmsg:ScheduleInformation/rmsg:ScheduleType") == "RequestedArrival"
    assert text(info, "rmsg:ScheduleInformation/rmsg:DateTime") == "2099-01-01T08:00:00+08:00"
    assert text(info, "rmsg:ScheduleInformation/rmsg:Location/rm:TargetArea/gml:Point/gml:pos") == "22.22 113.55"
    assert text(request, "rmsg:ContactInformation/rm:ContactRole") == "Requester"
    assert "0756-123" in text(request, "rmsg:ContactInformation/rm:AdditionalContactInformation")


def test_an_offerer_gets_the_thread_of_the_request_and_of_its_own_offer_only(history, as_):
    thread = messages(export(as_(JIANGMEN, role="viewer"), history))
    senders = {text(m, "rmsg:ContactInformation/rm:ContactDescription") for m in thread}
    assert not any("Zhongshan" in sender for sender in senders)
    assert len(thread) == 1 + 7
    # The requester's contact numbers are withheld from other jurisdictions: absent, not blank.
    assert thread[0].find("rmsg:ContactInformation/rm:AdditionalContactInformation", NS) is None


def test_those_who_may_not_see_the_request_get_a_404(history, as_):
    assert as_(SHENZHEN, role="viewer").get(f"{URL}{history}/edxl-rm/").status_code == 404
    assert as_(MACAO).get(f"{URL}{history}/edxl-rm/").status_code == 200  # asked, no offer: the request alone
    assert len(messages(export(as_(MACAO), history))) == 1
    missing = as_(ZHUHAI).get(f"{URL}99999/edxl-rm/")
    assert missing.status_code == 404 and missing.json()["status"] == 404
