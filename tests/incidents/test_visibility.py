"""The visibility rule (docs/api.md, "Visibility") from each jurisdiction's point of view, on the
list, the detail and the event log alike."""

import pytest
from django.db import transaction

from sharing.eventlog import sequence_pending
from sharing.models import SharingAgreement
from sharing.selectors import events_visible_to
from sharing.visibility import sharing_changed
from tests.conftest import (
    DONGGUAN,
    FOSHAN,
    GBA_CODES,
    GUANGZHOU,
    HONG_KONG,
    HUIZHOU,
    JIANGMEN,
    MACAO,
    SHENZHEN,
    ZHAOQING,
    ZHONGSHAN,
    ZHUHAI,
)
from tests.incidents.conftest import IN_ZHUHAI, SHENZHEN_DONGGUAN_AREA

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


def sees(api_as, jurisdiction: str, incident: dict, **who) -> bool:
    client = api_as(jurisdiction, **who)
    in_list = incident["id"] in [item["id"] for item in client.get(f"{URL}?page_size=500").json()["results"]]
    status = client.get(f"{URL}{incident['id']}/").status_code
    assert (status == 200) == in_list, f"list and detail disagree for {jurisdiction}"
    assert status in (200, 404)
    return in_list


def test_a_shenzhen_incident_reaching_into_dongguan_is_visible_to_dongguan(api_as, report):
    incident = report(SHENZHEN, level="IV", affected_area=SHENZHEN_DONGGUAN_AREA)
    assert sees(api_as, DONGGUAN, incident)
    assert not sees(api_as, FOSHAN, incident)


def test_a_level_iv_zhuhai_incident_is_seen_by_zhuhai_alone(api_as, report):
    incident = report(ZHUHAI, level="IV", location=IN_ZHUHAI)
    assert sees(api_as, ZHUHAI, incident)
    for other in set(GBA_CODES) - {ZHUHAI}:
        assert not sees(api_as, other, incident), other


def test_a_level_iii_incident_goes_to_the_neighbours_and_the_core_cities(api_as, report):
    incident = report(ZHUHAI, level="III", location=IN_ZHUHAI)
    seen_by = {code for code in GBA_CODES if sees(api_as, code, incident)}
    neighbours = {JIANGMEN, ZHONGSHAN, MACAO}
    core_cities = {GUANGZHOU, SHENZHEN, HONG_KONG, MACAO}
    assert seen_by == {ZHUHAI} | neighbours | core_cities
    assert not seen_by & {DONGGUAN, FOSHAN, HUIZHOU, ZHAOQING}


@pytest.mark.parametrize("level", ["I", "II"])
def test_levels_i_and_ii_go_to_every_member(api_as, report, level):
    incident = report(ZHUHAI, level=level, location=IN_ZHUHAI)
    assert all(sees(api_as, code, incident) for code in GBA_CODES)


def test_a_coordinator_sees_the_whole_cluster(api_as, report):
    incident = report(ZHUHAI, level="IV", location=IN_ZHUHAI)
    assert sees(api_as, FOSHAN, incident, role="coordinator")
    assert not sees(api_as, FOSHAN, incident, role="commander")


def test_others_do_not_get_the_sensitive_fields_unless_an_agreement_shares_them(api_as, report, gba):
    incident = report(SHENZHEN, level="II", affected_area=SHENZHEN_DONGGUAN_AREA,
                      casualty_details=[{"name": "Chen", "condition": "injured", "age": 41}],
                      contacts=[{"name": "Site commander", "phone": "+86 138 0000 0000"}])
    own = api_as(SHENZHEN).get(f"{URL}{incident['id']}/").json()
    assert own["casualty_details"][0]["name"] == "Chen" and own["contacts"]
    for code in (DONGGUAN, GUANGZHOU):
        theirs = api_as(code).get(f"{URL}{incident['id']}/").json()
        assert "casualty_details" not in theirs and "contacts" not in theirs
        listed = api_as(code).get(URL).json()["results"][0]
        assert "casualty_details" not in listed and "contacts" not in listed
    agreement = SharingAgreement.objects.create(name="SZ-DG contacts", cluster=gba, grantor_id=SHENZHEN,
                                                data_kinds=["incidents"], withheld_fields=["casualty_details"])
    agreement.grantees.add(DONGGUAN)
    sharing_changed()
    theirs = api_as(DONGGUAN).get(f"{URL}{incident['id']}/").json()
    assert theirs["contacts"] and "casualty_details" not in theirs


def test_the_event_log_follows_the_same_rule_and_redacts_the_same_fields(api_as, report, principal_for):
    incident = report(SHENZHEN, level="IV", affected_area=SHENZHEN_DONGGUAN_AREA,
                      contacts=[{"name": "Desk", "phone": "+86 755 0000 0000"}])
    with transaction.atomic():
        sequence_pending()

    def events_of(code):
        return [m for m in events_visible_to(principal=principal_for(code), since=0, limit=100)
                if m["data"].get("id") == incident["id"]]

    [own] = events_of(SHENZHEN)
    assert own["event"] == "incident.created" and own["data"]["contacts"]
    [theirs] = events_of(DONGGUAN)
    assert "contacts" not in theirs["data"] and "casualty_details" not in theirs["data"]
    assert events_of(FOSHAN) == []
