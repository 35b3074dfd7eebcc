"""Incidents in the UI: reporting one (every bad input answered next to its field), the list
and its filters, one incident's page, and the writes an officer makes on it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import IN_BEIJING, NEAR_DONGGUAN_BORDER, cross_border_area

pytestmark = pytest.mark.django_db


def local(moment) -> str:
    """A datetime as <input type="datetime-local"> sends it, in the cluster's time zone."""
    return timezone.localtime(moment, timezone=timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%dT%H:%M")


def report_form(**overrides) -> dict:
    form = {
        "title": "观澜河水位超警戒", "category": "natural_disaster", "type": "flood", "level": "II",
        "occurred_at": local(timezone.now() - timedelta(minutes=15)), "description": "上游强降雨",
        "area_kind": "circle", "lat": NEAR_DONGGUAN_BORDER["lat"], "lon": NEAR_DONGGUAN_BORDER["lon"],
        "radius_km": "9", "deaths": "0", "injured": "2", "missing": "0", "evacuated": "300",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


# --- reporting ----------------------------------------------------------------------------------------


def test_an_operator_reports_an_incident_whose_circle_reaches_into_dongguan(browse_as):
    from incidents.models import Incident

    client = browse_as(SHENZHEN, "operator")
    response = client.post("/incidents/new/", report_form())
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.public_id}/"
    assert sorted(incident.affected.values_list("jurisdiction_id", flat=True)) == [SHENZHEN, DONGGUAN]
    assert incident.affected_area == {"circle": {**NEAR_DONGGUAN_BORDER, "radius_m": 9000.0}}
    assert (incident.injured, incident.evacuated, incident.exercise) == (2, 300, False)
    page = client.get(response["Location"]).content.decode()
    assert f"事件 {incident.public_id} 已报告" in page and "东莞市" in page


def test_it_reports_a_polygon_drawn_on_the_map_and_a_drill(browse_as):
    from incidents.models import Incident

    ring = [[113.95, 22.68], [114.05, 22.68], [114.05, 22.80], [113.95, 22.80]]
    response = browse_as(SHENZHEN).post("/incidents/new/", report_form(
        area_kind="polygon", polygon=json.dumps(ring), exercise="on", lat="22.70", lon="114.00"))
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.exercise is True
    assert incident.affected_area == {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    assert incident.cross_border is True


def test_it_reports_a_point(browse_as):
    from incidents.models import Incident

    assert browse_as(SHENZHEN).post("/incidents/new/", report_form(area_kind="point", radius_km="")).status_code == 302
    assert Incident.objects.get().affected_area is None


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"title": ""}, "title", "该字段是必填项"),
    ({"title": "长" * 201}, "title", "200"),
    ({"category": "weather"}, "category", "选择一个有效的选项"),
    ({"type": "earthquake", "category": "accident"}, "type", "该类型不属于所选类别"),
    ({"level": "V"}, "level", "选择一个有效的选项"),
    ({"occurred_at": "yesterday"}, "occurred_at", "输入一个有效的日期/时间"),
    ({"lat": "91"}, "lat", "90"),
    ({"lon": "east"}, "lon", "输入一个数字"),
    ({"radius_km": ""}, "radius_km", "请填写圆的半径"),
    ({"radius_km": "0"}, "radius_km", "0.01"),
    ({"radius_km": "501"}, "radius_km", "500"),
    ({"area_kind": "polygon", "polygon": "[[114, 22.7], [114.1, 22.7]]"}, "area_kind", "至少点击三个点"),
    ({"area_kind": "polygon", "polygon": "not json"}, "area_kind", "至少点击三个点"),
    ({"area_kind": "square"}, "area_kind", "选择一个有效的选项"),
    ({"injured": "-1"}, "injured", "0"),
    ({"evacuated": "many"}, "evacuated", "输入整数"),
    # Refused by the service (its rules), shown next to the field it names.
    ({"occurred_at": local(timezone.now() + timedelta(hours=2))}, "occurred_at", "future"),
    ({"lat": IN_BEIJING["lat"], "lon": IN_BEIJING["lon"], "area_kind": "point"}, "lat", "outside your cluster"),
    ({"area_kind": "polygon", "polygon": "[[114, 22.7], [114.1, 22.8], [114.1, 22.7], [114, 22.8]]"},
     "area_kind", "Invalid polygon"),
])
def test_it_answers_each_bad_input_next_to_its_field(browse_as, change, field, message):
    from incidents.models import Incident

    response = browse_as(SHENZHEN).post("/incidents/new/", report_form(**change))
    assert response.status_code == 400
    form = response.context["form"]
    assert any(message in error for error in form.errors.get(field, [])), form.errors
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html or (field in ("level", "area_kind") and 'role="alert"' in html)
    assert Incident.objects.count() == 0


def test_the_report_form_lists_the_types_by_category_and_the_levels_in_words(browse_as):
    html = browse_as(SHENZHEN).get("/incidents/new/").content.decode()
    assert '<optgroup label="事故灾难">' in html and "危险化学品泄漏" in html
    assert "Ⅰ级 · 特别重大" in html and "Ⅳ级 · 一般" in html
    assert 'type="datetime-local"' in html


# --- the list ------------------------------------------------------------------------------------------


def test_the_list_filters_as_the_api_does(browse_as, reported):
    reported(SHENZHEN, level="II", title="二级洪涝", affected_area=cross_border_area())
    reported(SHENZHEN, level="IV", title="四级火灾", category="accident", type="fire")
    reported(SHENZHEN, level="III", title="三级演练", exercise=True)
    client = browse_as(SHENZHEN)

    def titles(query: str) -> list[str]:
        return sorted(item["title"] for item in client.get(f"/incidents/?{query}").context["items"])

    assert titles("") == ["三级演练", "二级洪涝", "四级火灾"]
    assert titles("level_at_least=III") == ["三级演练", "二级洪涝"]
    assert titles("category=accident") == ["四级火灾"]
    assert titles("cross_border=true") == ["二级洪涝"]
    assert titles("exercise=true") == ["三级演练"]
    assert titles("exercise=false&jurisdiction=441900") == ["二级洪涝"]


def test_the_list_marks_drills_and_writes_levels_out(browse_as, reported):
    reported(SHENZHEN, level="III", title="三级演练", exercise=True)
    html = browse_as(SHENZHEN).get("/incidents/").content.decode()
    assert 'class="exercise"' in html and ">演练<" in html
    assert "Ⅲ级 · 较大" in html


def test_a_bad_filter_is_shown_and_the_default_list_kept(browse_as, reported):
    reported(SHENZHEN, level="II")
    response = browse_as(SHENZHEN).get("/incidents/?level_at_least=V&status=lost")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"level_at_least", "status"}
    assert len(response.context["items"]) == 1


def test_the_list_answers_htmx_with_the_results_alone(browse_as, reported):
    reported(SHENZHEN, level="II")
    response = browse_as(SHENZHEN).get("/incidents/?level_at_least=II", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"') and "<html" not in html


def test_the_list_costs_the_same_queries_for_two_incidents_or_twenty(browse_as, reported,
                                                                    django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = browse_as(SHENZHEN)
    reported(DONGGUAN, level="II")
    reported(DONGGUAN, level="II")
    client.get("/incidents/")  # the registry and time zones are read once per process
    with CaptureQueriesContext(connection) as two:
        client.get("/incidents/")
    for _ in range(18):
        reported(DONGGUAN, level="II")
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/incidents/").context["items"]) == 20
    assert len(twenty) == len(two)
    # session, user, membership, clusters, sharing agreements, count, page, affected rows, audit, newest seq …
    with django_assert_max_num_queries(len(two)):
        client.get("/incidents/")


# --- one incident ---------------------------------------------------------------------------------------


def test_the_incident_page_shows_its_facts_timeline_and_reports(browse_as, reported, principal_for):
    from incidents.services import incident_update_add, sitrep_submit

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area(), casualties={"evacuated": 1200})
    incident_update_add(actor=principal_for(SHENZHEN, role="operator"), public_id=incident.public_id,
                        text="沿河村庄正在转移", figures={"evacuated": 2500})
    now = timezone.now()
    sitrep_submit(actor=principal_for(DONGGUAN, role="operator"), public_id=incident.public_id, data={
        "period_start": now - timedelta(hours=3), "period_end": now, "figures": {"shelters_open": 4},
        "needs": "沙袋、水泵", "text": "塘厦镇两条街道进水"})
    html = browse_as(DONGGUAN, "operator").get(f"/incidents/{incident.public_id}/").content.decode()
    for text in ["观澜河水位超警戒", "Ⅱ级 · 重大", "已报告", "深圳市、东莞市", "转移疏散 1,200", "沿河村庄正在转移",
                 "转移疏散 2,500", "联合态势报告", "沙袋、水泵", "尚未报告", "深圳市"]:
        assert text in html, text


def test_a_commander_moves_the_incident_along_its_lifecycle(browse_as, reported):
    incident = reported(SHENZHEN, level="II")
    commander = browse_as(SHENZHEN, "commander")
    page = commander.get(f"/incidents/{incident.public_id}/").content.decode()
    assert 'value="verified"' in page and 'value="cancelled"' in page and 'value="closed"' not in page
    for status in ["verified", "responding", "contained", "closed"]:
        response = commander.post(f"/incidents/{incident.public_id}/transition/", {"status": status, "note": "核实"})
        assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "closed"
    page = commander.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "/transition/" not in page  # closed is final
    assert page.count("kind-status_changed") == 4


def test_a_move_the_lifecycle_forbids_is_explained(browse_as, reported):
    incident = reported(SHENZHEN, level="II")
    commander = browse_as(SHENZHEN, "commander")
    response = commander.post(f"/incidents/{incident.public_id}/transition/", {"status": "closed"}, follow=True)
    assert "cannot become closed" in response.content.decode()
    response = commander.post(f"/incidents/{incident.public_id}/transition/", {"status": "gone"})
    assert response.status_code == 400 and "status" in response.context["forms"].transition.errors


def test_an_affected_jurisdiction_adds_an_update_and_a_situation_report(browse_as, reported):
    from incidents.models import SituationReport

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    dongguan = browse_as(DONGGUAN, "operator")
    response = dongguan.post(f"/incidents/{incident.public_id}/updates/", {"text": "东莞侧已封闭道路", "injured": "3"})
    assert response.status_code == 302
    entry = incident.timeline.get(kind="update")
    assert (entry.text, entry.figures, entry.author_jurisdiction) == ("东莞侧已封闭道路", {"injured": 3}, DONGGUAN)
    start = timezone.now() - timedelta(hours=2)
    response = dongguan.post(f"/incidents/{incident.public_id}/sitreps/", {
        "period_start": local(start), "period_end": local(timezone.now()), "evacuated": "800", "needs": "水泵"})
    assert response.status_code == 302
    assert SituationReport.objects.get().evacuated == 800


@pytest.mark.parametrize(("path", "data", "field"), [
    ("updates/", {"text": ""}, "text"),
    ("updates/", {"text": "x", "deaths": "-2"}, "deaths"),
    ("sitreps/", {"period_start": "2026-01-01T10:00", "period_end": "2026-01-01T09:00"}, "period_end"),
    ("sitreps/", {"period_start": "", "period_end": "2026-01-01T09:00"}, "period_start"),
    ("sitreps/", {"period_start": "2026-01-01T08:00", "period_end": "2026-01-01T09:00", "shelters_open": "x"},
     "shelters_open"),
    ("resource-requests/", {"resource_type": "rescue_boat", "quantity": "0", "needed_by": "2030-01-01T08:00"},
     "quantity"),
    ("resource-requests/", {"resource_type": "unicorn", "quantity": "2", "needed_by": "2030-01-01T08:00"},
     "resource_type"),
    ("resource-requests/", {"resource_type": "rescue_boat", "quantity": "2", "needed_by": "2020-01-01T08:00"},
     "needed_by"),
])
def test_it_answers_bad_input_on_an_incident_next_to_the_field(browse_as, reported, path, data, field):
    incident = reported(SHENZHEN, level="II")
    response = browse_as(SHENZHEN, "commander").post(f"/incidents/{incident.public_id}/{path}", data)
    assert response.status_code == 400
    forms = response.context["forms"]
    form = {"updates/": forms.update, "sitreps/": forms.sitrep, "resource-requests/": forms.aid}[path]
    assert field in form.errors, form.errors
    assert f'id="id_{field}_error"' in response.content.decode()


def test_an_affected_jurisdiction_asks_for_mutual_aid_from_the_incident(browse_as, reported):
    from sharing.mutualaid.models import ResourceRequest

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    response = browse_as(DONGGUAN, "operator").post(f"/incidents/{incident.public_id}/resource-requests/", {
        "resource_type": "rescue_boat", "quantity": "4", "needed_by": local(timezone.now() + timedelta(hours=6))})
    assert response.status_code == 302
    request = ResourceRequest.objects.get()
    assert (request.requester_id, request.quantity, request.incident_id) == (DONGGUAN, 4, incident.pk)


def test_the_parts_fragment_swaps_each_live_part_into_its_place(browse_as, reported):
    incident = reported(SHENZHEN, level="II")
    html = browse_as(SHENZHEN).get(f"/incidents/{incident.public_id}/parts/").content.decode()
    for part in ["incident-status", "incident-coordination", "incident-timeline", "incident-sitreps", "incident-aid"]:
        assert f'id="{part}" hx-swap-oob="true"' in html


def test_the_incident_map_data_is_the_incident_and_its_jurisdictions(browse_as, reported):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area(), exercise=True)
    layer = browse_as(DONGGUAN).get(f"/incidents/{incident.public_id}/map.json").json()
    (item,) = layer["incidents"]
    assert item["affected"] == [SHENZHEN, DONGGUAN] and item["exercise"] is True
    assert item["level_label"] == "Ⅱ级 · 重大"
    assert layer["levels"] == {}  # a drill never colours a jurisdiction


def test_the_lifecycle_notes_field_takes_as_much_as_the_contract_allows(browse_as, reported):
    from incidents import contract

    incident = reported(SHENZHEN, level="II")
    html = browse_as(SHENZHEN, "commander").get(f"/incidents/{incident.public_id}/").content.decode()
    assert f'name="note" maxlength="{contract.NOTE_MAX_LENGTH}"' in html
