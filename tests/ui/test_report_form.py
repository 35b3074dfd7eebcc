"""The report form (issue 19): the map starts at the officer's city, the place search lists the
officer's clusters' jurisdictions and depots only, the preview of the jurisdictions an area
reaches is what the reported incident gets, its refusals are in the reader's language, and an
invalid submit comes back with a focused summary linking to each field. The place search's
script runs under Node at the end. Everything against the real database and the demo registry."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, SHENZHEN
from tests.ui.conftest import IN_BEIJING, IN_SHENZHEN, NEAR_DONGGUAN_BORDER
from tests.ui.test_incidents import report_form

pytestmark = pytest.mark.django_db

PLACES = "/incidents/new/places.json"
PREVIEW = "/incidents/new/preview/"
WHERE = ("area_kind", "lat", "lon", "radius_km", "polygon")


@pytest.fixture
def demo_stock(gba):
    from coordination.demo import LoadSummary
    from sharing.mutualaid.demo import load_demo_stock

    load_demo_stock(LoadSummary())


@pytest.fixture
def other_cluster(gba):
    """A second cluster far from the GBA, with one city that has a boundary and a depot."""
    from coordination.models import Cluster, Jurisdiction
    from coordination.registry import reset_registry

    cluster, _ = Cluster.objects.get_or_create(code="T19", defaults={"name_zh": "测试城市群", "name_en": "Test cluster",
                                                                     "time_zone": "Asia/Shanghai"})
    ring = [[116.2, 39.8], [116.6, 39.8], [116.6, 40.1], [116.2, 40.1], [116.2, 39.8]]
    city, _ = Jurisdiction.objects.update_or_create(code="119900", defaults={
        "name_zh": "测试市", "name_en": "Test City", "level": Jurisdiction.objects.get(code=SHENZHEN).level,
        "centroid_lat": 39.95, "centroid_lon": 116.4, "boundary": {"type": "Polygon", "coordinates": [ring]}})
    city.clusters.set([cluster])
    reset_registry()
    return city


# --- the map's start -------------------------------------------------------------------------------


def _start(page: str):
    found = re.search(r'data-start="([^"]+)"', page)
    return json.loads(found.group(1)) if found else None


def test_the_map_starts_at_the_officers_city_and_a_coordinators_cluster(browse_as):
    # coordination/demo/gba.json's boundaries: Shenzhen's box, and the whole GBA's.
    page = browse_as(SHENZHEN).get("/incidents/new/").content.decode()
    assert _start(page) == [[22.44, 113.77], [22.85, 114.6]]
    page = browse_as(HONG_KONG).get("/incidents/new/").content.decode()
    assert _start(page) == [[22.195, 113.83], [22.555, 114.4]]
    page = browse_as(SHENZHEN, "coordinator").get("/incidents/new/").content.decode()
    assert _start(page) == [[21.75, 111.38], [24.38, 115.4]]


# --- the place search ------------------------------------------------------------------------------


def test_the_places_are_the_clusters_jurisdictions_and_depots(browse_as, demo_stock, other_cluster):
    places = browse_as(SHENZHEN).get(PLACES).json()["places"]
    cities = {p["code"]: p for p in places if p["kind"] == "jurisdiction"}
    assert sorted(cities) == sorted(GBA_CODES)
    assert cities[DONGGUAN]["names"] == ["东莞市", "Dongguan"] and cities[DONGGUAN]["name"] == "东莞市"
    assert cities[DONGGUAN]["kind_label"] == "辖区"
    assert cities[DONGGUAN]["bounds"] == [[22.71, 113.55], [23.15, 114.25]]
    assert (cities[DONGGUAN]["lat"], cities[DONGGUAN]["lon"]) == (22.93, 113.88)
    # Depots as the resources board shows them (sharing.visibility): Shenzhen's own; Dongguan's
    # stock, and so its depot, only under an agreement that shares resources.
    depots = [p for p in places if p["kind"] == "depot"]
    assert [p["code"] for p in depots] == [SHENZHEN]
    # A demo depot reads in the reader's language (issue 19), matched by its stored name too.
    assert depots[0]["name"] == "深圳市应急物资储备库"
    assert "深圳市应急物资储备库 (Shenzhen emergency reserve depot)" in depots[0]["names"]
    assert depots[0]["kind_label"] == "物资储备库" and (depots[0]["lat"], depots[0]["lon"]) == (22.65, 114.12)
    assert "Shenzhen" in depots[0]["names"]
    assert "119900" not in {p["code"] for p in places}
    english = browse_as(SHENZHEN, language="en").get(PLACES).json()["places"]
    assert next(p for p in english if p["code"] == DONGGUAN)["name"] == "Dongguan"
    assert next(p for p in english if p["kind"] == "depot")["name"] == "Shenzhen emergency reserve depot"
    traditional = browse_as(SHENZHEN, language="zh-hant").get(PLACES).json()["places"]
    assert next(p for p in traditional if p["code"] == DONGGUAN)["name"] == "東莞市"
    assert next(p for p in traditional if p["kind"] == "depot")["name"] == "深圳市應急物資儲備庫"


def test_an_officer_of_another_cluster_sees_only_its_own_places(browse_as, demo_stock, other_cluster):
    places = browse_as("119900").get(PLACES).json()["places"]
    assert [(p["code"], p["kind"]) for p in places] == [("119900", "jurisdiction")]


def test_the_places_need_a_login(client):
    assert client.get(PLACES).status_code == 302


# --- the preview ------------------------------------------------------------------------------------

HK_BORDER_RING = [[114.05, 22.50], [114.15, 22.50], [114.15, 22.60], [114.05, 22.60]]  # over the Shenzhen River
SHAPES = {
    "a point in Shenzhen": {"area_kind": "point", **IN_SHENZHEN},
    "a circle inside Shenzhen": {"area_kind": "circle", "lat": 22.60, "lon": 114.30, "radius_km": "2"},
    "a circle across the Dongguan border": {"area_kind": "circle", **NEAR_DONGGUAN_BORDER, "radius_km": "9"},
    "a polygon touching the SAR boundary": {"area_kind": "polygon", "lat": 22.58, "lon": 114.10,
                                            "polygon": json.dumps(HK_BORDER_RING)},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_preview_is_what_the_reported_incident_gets(browse_as, shape):
    from incidents.models import Incident

    client = browse_as(SHENZHEN)
    where = SHAPES[shape]
    answer = client.post(PREVIEW, where).json()
    assert answer["ok"] is True, answer
    response = client.post("/incidents/new/", report_form(**{"radius_km": None, **where}))
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get()
    assert answer["codes"] == sorted(incident.affected.values_list("jurisdiction_id", flat=True))
    names = {"a point in Shenzhen": ["深圳市"], "a circle inside Shenzhen": ["深圳市"],
             "a circle across the Dongguan border": ["深圳市", "东莞市"],
             "a polygon touching the SAR boundary": ["深圳市", "香港特别行政区"]}[shape]
    assert sorted(answer["names"]) == sorted(names)
    assert answer["text"].startswith("将通知：") and "、".join(answer["names"]) in answer["text"]


def test_the_preview_names_in_english_for_an_english_reader(browse_as):
    answer = browse_as(SHENZHEN, language="en").post(
        PREVIEW, {"area_kind": "circle", **NEAR_DONGGUAN_BORDER, "radius_km": "9"}).json()
    assert answer["text"] == "Will notify: Dongguan, Shenzhen" or answer["text"] == "Will notify: Shenzhen, Dongguan"


@pytest.mark.parametrize(("language", "where", "expected"), [
    ("zh-hans", {"area_kind": "point", **IN_BEIJING}, "该位置超出本城市群范围"),
    ("en", {"area_kind": "point", **IN_BEIJING}, "The location is outside your cluster by more than"),
    ("zh-hant", {"area_kind": "point", **IN_BEIJING}, "該位置超出本城市群範圍"),
    ("zh-hans", {"area_kind": "polygon", **IN_SHENZHEN, "polygon": "[[114, 22.6], [114.1, 22.6]]"},
     "在地图上绘制多边形"),
    ("zh-hans", {"area_kind": "circle", **IN_SHENZHEN}, "请填写圆的半径"),
    ("en", {"area_kind": "circle", **IN_SHENZHEN, "radius_km": "9000"}, "Radius (km)"),
])
def test_the_preview_says_why_in_the_readers_language(browse_as, language, where, expected):
    answer = browse_as(SHENZHEN, language=language).post(PREVIEW, where).json()
    assert answer["ok"] is False
    assert any(expected in error for error in answer["errors"]), answer


def test_the_preview_takes_a_csrf_token_and_a_reporter(browse_as):
    client = browse_as(SHENZHEN, enforce_csrf_checks=True)
    assert client.post(PREVIEW, {"area_kind": "point", **IN_SHENZHEN}).status_code == 403
    assert browse_as(SHENZHEN).get(PREVIEW).status_code == 405


# --- the error summary -----------------------------------------------------------------------------


def test_an_invalid_submit_comes_back_with_a_focused_summary_linking_each_field(browse_as):
    response = browse_as(SHENZHEN).post("/incidents/new/", report_form(title="", **{"lat": "99"}))
    assert response.status_code == 400
    page = response.content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert summary and 'tabindex="-1"' in summary.group(0) and "autofocus" in summary.group(0)
    assert page.index("error-summary") < page.index('id="what-title"')  # at the top of the form
    assert 'href="#id_title"' in summary.group(1) and 'href="#id_lat"' in summary.group(1)
    assert "请更正以下内容" in summary.group(1) or "请更正" in summary.group(1)


def test_a_refusal_of_the_service_is_in_the_summary_too(browse_as):
    response = browse_as(SHENZHEN).post("/incidents/new/", report_form(area_kind="point", radius_km=None,
                                                                       **IN_BEIJING))
    assert response.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', response.content.decode(), re.S).group(0)
    assert 'href="#id_lat"' in summary


# --- the place search's script, under Node ---------------------------------------------------------

SEARCH = Path(__file__).resolve().parents[2] / "ui" / "static" / "ui" / "js" / "placesearch.js"

SCRIPT = """
import { matchPlaces, debounce, placeSearch } from %(module)s;
const places = [
  {kind: 'jurisdiction', kind_label: 'J', code: '441900', name: '东莞市', names: ['东莞市', 'Dongguan']},
  {kind: 'jurisdiction', kind_label: 'J', code: '440300', name: '深圳市', names: ['深圳市', 'Shenzhen']},
  {kind: 'depot', kind_label: 'D', code: '441900', name: '东莞市应急物资储备库 (Dongguan emergency reserve depot)',
   names: ['东莞市应急物资储备库 (Dongguan emergency reserve depot)', '东莞市', 'Dongguan']},
  {kind: 'jurisdiction', kind_label: 'J', code: '810000', name: '香港特别行政区',
   names: ['香港特别行政区', 'Hong Kong SAR']},
];
const out = {};
out.dong = matchPlaces(places, 'dong').map((p) => p.kind + p.code);
out.guan = matchPlaces(places, 'GUAN').map((p) => p.kind + p.code);
out.kong = matchPlaces(places, ' kong ').map((p) => p.code);
out.zh = matchPlaces(places, '储备').map((p) => p.kind);
out.none = matchPlaces(places, 'beijing');
out.empty = matchPlaces(places, '');

class El {
  constructor(tag) { this.tagName = tag; this.attributes = {}; this.listeners = {}; this.children = [];
    this.hidden = true; this.value = ''; this.textContent = ''; }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  removeAttribute(k) { delete this.attributes[k]; }
  addEventListener(k, fn) { this.listeners[k] = fn; }
  replaceChildren() { this.children = []; }
  append(child) { this.children.push(child); }
}
const doc = { createElement: (tag) => new El(tag) };
const input = new El('input');
const list = new El('ul');
const chosen = [];
const search = placeSearch({input, list, load: async () => places, choose: (p) => chosen.push(p.code),
                            documentRef: doc});
const key = (k) => { let stopped = false; input.listeners.keydown({key: k, preventDefault: () => { stopped = true; }});
  return stopped; };
input.value = 'dong';
await input.listeners.input();
out.open = [list.hidden, input.attributes['aria-expanded'], list.children.length];
key('ArrowDown'); key('ArrowDown');
out.active = [search.active, input.attributes['aria-activedescendant'], list.children[1].attributes['aria-selected']];
key('ArrowDown');
out.wrapped = search.active;
out.enterStopped = key('Enter');
out.chosen = [...chosen];
out.afterEnter = [list.hidden, input.attributes['aria-expanded'], input.value];
input.value = 'shen';
await input.listeners.input();
out.escapeStopped = key('Escape');
out.afterEscape = [list.hidden, chosen.length];
out.enterClosed = key('Enter');
out.chosenAfter = chosen.length;

const calls = [];
const timers = { pending: null, setTimeout(fn) { this.pending = fn; return 1; },
                 clearTimeout() { this.pending = null; } };
const later = debounce((v) => calls.push(v), 300, timers);
later(1); later(2); later(3);
timers.pending();
out.debounced = calls;
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
def test_the_place_search_matches_substrings_and_keeps_to_the_keyboard(tmp_path):
    script = tmp_path / "search.mjs"
    script.write_text(SCRIPT % {"module": json.dumps(SEARCH.as_uri())}, encoding="utf-8")
    run = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["dong"] == ["jurisdiction441900", "depot441900"]  # those starting with it first
    assert out["guan"] == ["jurisdiction441900", "depot441900"]
    assert out["kong"] == ["810000"] and out["zh"] == ["depot"]
    assert out["none"] == [] and out["empty"] == []
    assert out["open"] == [False, "true", 2]
    assert out["active"] == [1, "place-option-1", "true"]
    assert out["wrapped"] == 0
    assert out["enterStopped"] is True  # Enter in the search never sends the report
    assert out["chosen"] == ["441900"]
    assert out["afterEnter"] == [True, "false", "东莞市"]
    assert out["escapeStopped"] is True and out["afterEscape"] == [True, 1]
    assert out["enterClosed"] is True and out["chosenAfter"] == 1
    assert out["debounced"] == [3]


# --- in Chromium (Debian's; skipped without it) ------------------------------------------------------

from tests.ui.test_browser import browser, embedded, officer_page, shoot  # noqa: E402, F401  (fixtures)


@pytest.mark.browser
@pytest.mark.slow
def test_in_chromium_the_search_places_the_point_and_the_preview_follows(browser, embedded):  # noqa: F811
    from playwright.sync_api import expect

    page = officer_page(browser, embedded, "sz-op")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/incidents/new/")
    page.check("#id_area_kind_0")  # a point
    page.fill("#place-query", "dongg")
    options = page.locator("#place-options li")
    expect(options.first).to_contain_text("东莞市")
    shoot(page, "report-place-search", "zh-hans")
    page.press("#place-query", "ArrowDown")
    expect(page.locator("#place-query")).to_have_attribute("aria-activedescendant", "place-option-0")
    page.press("#place-query", "Enter")  # takes the place; the report is not sent
    expect(page).to_have_url(re.compile(r"/incidents/new/$"))
    expect(page.locator("#place-options")).to_be_hidden()
    expect(page.locator("#id_lat")).to_have_value("22.93")
    expect(page.locator("#id_lon")).to_have_value("113.88")
    expect(page.locator("#affected-preview")).to_have_text("将通知：深圳市、东莞市")
    # A circle around a point in Shenzhen that reaches over the border into Hong Kong.
    page.check("#id_area_kind_1")
    page.fill("#id_lat", "22.56")
    page.fill("#id_lon", "114.10")
    page.fill("#id_radius_km", "3")
    expect(page.locator("#affected-preview")).to_have_text("将通知：深圳市、香港特别行政区")
    shoot(page, "report-preview", "zh-hans")
    page.fill("#id_lat", "39.9")
    expect(page.locator("#affected-preview")).to_contain_text("超出本城市群范围")
    # Sent without a title: the summary at the top takes focus, its links lead to the fields.
    page.click("#report-form button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator('.error-summary a[href="#id_title"]')).to_be_visible()
    assert errors == []
