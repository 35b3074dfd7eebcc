"""Nothing another jurisdiction may not see appears in any page or fragment: every read of the
UI goes through the selectors (the one visibility rule), and withheld fields are not shown."""

import json

import pytest

from tests.conftest import DONGGUAN, SHENZHEN, ZHAOQING
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db

# Every page and fragment that can show an incident (the incident's own pages apart).
EVERYWHERE = ["/", "/incidents/", "/incidents/?status=any", "/fragments/summary/", "/fragments/owed/",
              "/fragments/feed/", "/fragments/charts/", "/map/incidents.json", "/resources/", "/command/",
              "/alerts/", "/agreements/"]


def own_pages(incident) -> list[str]:
    base = f"/incidents/{incident.public_id}/"
    return [base, base + "parts/", base + "map.json"]


def shown(client, incident) -> list[str]:
    """The pages where the incident (its title or its id) appears for this client."""
    found = []
    for path in EVERYWHERE:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        if path.endswith(".json"):
            body = json.dumps(response.json(), ensure_ascii=False)
        if incident.title in body or incident.public_id in body:
            found.append(path)
    return found


def test_a_level_iv_incident_stays_with_its_jurisdiction(browse_as, reported):
    incident = reported(SHENZHEN, level="IV", title="深南大道路面塌陷")
    shenzhen, dongguan = browse_as(SHENZHEN), browse_as(DONGGUAN)
    assert set(shown(shenzhen, incident)) >= {"/", "/incidents/", "/map/incidents.json", "/fragments/feed/"}
    assert shown(dongguan, incident) == []
    for path in own_pages(incident):
        assert dongguan.get(path).status_code == 404, path
        assert shenzhen.get(path).status_code == 200, path


def test_a_level_iii_incident_reaches_the_neighbours_and_no_one_else(browse_as, reported):
    incident = reported(SHENZHEN, level="III", title="坪山化工园区泄漏")
    assert "/incidents/" in shown(browse_as(DONGGUAN), incident)  # Dongguan borders Shenzhen
    zhaoqing = browse_as(ZHAOQING)
    assert shown(zhaoqing, incident) == []
    assert zhaoqing.get(f"/incidents/{incident.public_id}/").status_code == 404


def test_an_incident_whose_area_reaches_a_jurisdiction_is_shown_there(browse_as, reported):
    incident = reported(SHENZHEN, level="IV", title="观澜河决堤", affected_area=cross_border_area())
    dongguan = browse_as(DONGGUAN)
    assert {"/", "/incidents/", "/map/incidents.json"} <= set(shown(dongguan, incident))
    assert dongguan.get(f"/incidents/{incident.public_id}/").status_code == 200


def test_the_counts_and_the_map_count_only_what_the_officer_may_see(browse_as, reported):
    reported(SHENZHEN, level="IV", title="只有深圳可见")
    reported(SHENZHEN, level="II", title="全湾区可见")
    dongguan, shenzhen = browse_as(DONGGUAN), browse_as(SHENZHEN)
    assert dongguan.get("/fragments/summary/").context["open_total"] == 1
    assert shenzhen.get("/fragments/summary/").context["open_total"] == 2
    layer = dongguan.get("/map/incidents.json").json()
    assert [item["title"] for item in layer["incidents"]] == ["全湾区可见"]
    assert layer["levels"] == {SHENZHEN: "II"}
    assert dongguan.get("/fragments/charts/").context["level_chart"]["total"] == 1


def test_withheld_fields_are_not_shown_to_other_jurisdictions(browse_as, reported):
    incident = reported(SHENZHEN, level="II", title="隧道火灾", affected_area=cross_border_area(),
                        casualty_details=[{"name": "张三", "age": 41}], contacts=[{"phone": "+86 755 1234 5678"}])
    own = browse_as(SHENZHEN).get(f"/incidents/{incident.public_id}/").content.decode()
    assert "张三" in own and "+86 755 1234 5678" in own
    for path in [*own_pages(incident), "/map/incidents.json", "/incidents/"]:
        body = browse_as(DONGGUAN).get(path).content.decode("unicode_escape" if path.endswith(".json") else "utf-8")
        assert "张三" not in body and "1234 5678" not in body, path


def test_the_feed_shows_only_visible_events(browse_as, reported):
    reported(SHENZHEN, level="IV", title="深圳内部事件")
    reported(SHENZHEN, level="I", title="特别重大台风")
    titles = [item.title for item in browse_as(DONGGUAN).get("/fragments/feed/").context["feed"]]
    assert "特别重大台风" in titles and "深圳内部事件" not in titles


def test_the_boundaries_are_the_officers_cluster(browse_as):
    features = browse_as(DONGGUAN).get("/map/boundaries.json").json()["features"]
    codes = {feature["properties"]["code"] for feature in features}
    assert {SHENZHEN, DONGGUAN, ZHAOQING} <= codes and len(codes) == 11


def test_acknowledgements_of_another_jurisdiction_are_not_listed(browse_as, reported, run_playbooks):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    dongguan = browse_as(DONGGUAN)
    owed = dongguan.get("/fragments/owed/").context["owed"]
    assert [ack.incident_id for ack in owed] == [incident.public_id]
    assert browse_as(ZHAOQING).get("/fragments/owed/").context["owed"] == []


@pytest.mark.parametrize("path", ["/map/incidents.json", "/fragments/summary/", "/fragments/feed/",
                                  "/fragments/charts/", "/"])
def test_the_dashboard_parts_cost_the_same_queries_for_two_incidents_or_twelve(browse_as, reported, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = browse_as(DONGGUAN)
    for _ in range(2):
        reported(SHENZHEN, level="II")
    client.get(path)  # the registry and time zones are read once per process
    with CaptureQueriesContext(connection) as two:
        client.get(path)
    for _ in range(10):
        reported(SHENZHEN, level="II")
    with CaptureQueriesContext(connection) as twelve:
        client.get(path)
    assert len(twelve) == len(two), [query["sql"][:120] for query in twelve.captured_queries]
