"""Hostile geometry: an incident's `affected_area` with positions of the wrong length (four
ordinates, one), 2-D and 3-D positions mixed, non-numbers, booleans, NaN and infinity, rings
open or too short, the wrong nesting, and areas far from the reporter's cluster, on every path
that takes an area: POST /api/v1/incidents/, PATCH, POST /api/v1/incidents/bulk/ (where the
bad item is named by its index and the others are still taken) and the web UI's report form.
A bad area is a 400 naming `affected_area` (the form: next to its area field), never a 500.
Then the same paths, and the rule itself, with hypothesis-generated GeoJSON.
"""

import json
import math
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from coordination.geometry import GeometryError, checked_polygon
from tests.attack.conftest import tally
from tests.conftest import SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

IN_SHENZHEN = {"lat": 22.60, "lon": 114.05}
RING = [[114.00, 22.56], [114.08, 22.56], [114.08, 22.62], [114.00, 22.62], [114.00, 22.56]]


def polygon(*rings) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def box(lon_min, lat_min, lon_max, lat_max) -> dict:
    return polygon([[lon_min, lat_min], [lon_max, lat_min], [lon_max, lat_max], [lon_min, lat_max],
                    [lon_min, lat_min]])


def with_positions(ring, *changes) -> list:
    """RING with some positions replaced: (index, position); the last follows the first."""
    ring = [list(position) for position in ring]
    for index, position in changes:
        ring[index] = position
        if index == 0:
            ring[-1] = position
    return ring


# Every one refused with a 400 naming affected_area.
REFUSED = {
    "four ordinates": polygon([[*p, 0.0, 0.0] for p in RING]),
    "four ordinates on one position": polygon(with_positions(RING, (2, [114.08, 22.62, 5.0, 1.0]))),
    "one ordinate": polygon(with_positions(RING, (1, [114.08]))),
    "empty position": polygon(with_positions(RING, (1, []))),
    "altitude a string": polygon(with_positions(RING, (1, [114.08, 22.56, "high"]))),
    "longitude a string": polygon(with_positions(RING, (1, ["114.08", 22.56]))),
    "latitude a boolean": polygon(with_positions(RING, (1, [114.08, True]))),
    "altitude a boolean": polygon(with_positions(RING, (1, [114.08, 22.56, False]))),
    "altitude null": polygon(with_positions(RING, (1, [114.08, 22.56, None]))),
    "position a number": polygon(with_positions(RING, (1, 114.08))),
    "position an object": polygon(with_positions(RING, (1, {"lon": 114.08, "lat": 22.56}))),
    "position nested too deep": polygon(with_positions(RING, (1, [[114.08, 22.56]]))),
    "longitude out of range": polygon(with_positions(RING, (1, [194.08, 22.56]))),
    "latitude out of range": polygon(with_positions(RING, (2, [114.08, 92.62]))),
    "ring not closed": polygon(RING[:-1] + [[114.01, 22.56]]),
    "ring of three positions": polygon(RING[:2] + [RING[0]]),
    "ring empty": polygon([]),
    "no rings": polygon(),
    "ring a position": {"type": "Polygon", "coordinates": [RING[0]]},
    "coordinates a ring (too shallow)": {"type": "Polygon", "coordinates": RING},
    "coordinates too deep": {"type": "Polygon", "coordinates": [[RING]]},
    "multipolygon too shallow": {"type": "MultiPolygon", "coordinates": [RING]},
    "multipolygon of one bad polygon": {"type": "MultiPolygon", "coordinates": [[RING], [[[*p, 1, 2] for p in RING]]]},
    "multipolygon empty": {"type": "MultiPolygon", "coordinates": []},
    "coordinates a string": {"type": "Polygon", "coordinates": "114,22"},
    "coordinates missing": {"type": "Polygon"},
    "type a list": {"type": ["Polygon"], "coordinates": [RING]},
    "type Point": {"type": "Point", "coordinates": [114.05, 22.6]},
    "a list, not an object": [RING],
    "a string": "POLYGON((114 22.56, 114.08 22.56, 114.08 22.62, 114 22.56))",
    "self-crossing": polygon([[114.00, 22.56], [114.08, 22.62], [114.08, 22.56], [114.00, 22.62], [114.00, 22.56]]),
    "no area": polygon([RING[0], RING[1], RING[0], RING[1], RING[0]]),
}

# Altitude is dropped, on every position or some: the same area on the ground.
ACCEPTED = {
    "every position with an altitude": polygon([[*p, 12.5] for p in RING]),
    "2-D and 3-D positions mixed": polygon([[*p, 3] if index % 2 else p for index, p in enumerate(RING)]),
    "a multipolygon with altitude on one polygon": {"type": "MultiPolygon", "coordinates": [
        [[[*p, 0] for p in RING]], box(114.10, 22.56, 114.12, 22.58)["coordinates"]]},
}

# JSON that the parser reads into numbers the rule must refuse (1e400 is infinity in Python).
RAW_REFUSED = {
    "an infinite longitude": '{"type": "Polygon", "coordinates": [[[1e400, 22.56], [114.08, 22.56], '
                             '[114.08, 22.62], [1e400, 22.56]]]}',
    "an infinite altitude": '{"type": "Polygon", "coordinates": [[[114.0, 22.56, -1e400], [114.08, 22.56], '
                            '[114.08, 22.62], [114.0, 22.56, -1e400]]]}',
}

# Far from Shenzhen's cluster (GBA): held to the cluster as the location is, each polygon of it.
FAR_AWAY = {
    "in Beijing": box(116.30, 39.85, 116.50, 39.95),
    "in Europe": box(2.30, 48.80, 2.40, 48.90),
    "in the Pacific": box(-179.9, -10.0, -170.0, 10.0),
    "a multipolygon, one part in Shenzhen and one in Beijing": {"type": "MultiPolygon", "coordinates": [
        [RING], box(116.30, 39.85, 116.50, 39.95)["coordinates"]]},
    "a circle in Beijing": {"circle": {"lat": 39.90, "lon": 116.40, "radius_m": 5000}},
}

# Reaching beyond the cluster (out to sea), or at sea within the margin: accepted.
NEAR_ENOUGH = {
    "from Shenzhen out to sea": box(114.00, 21.50, 114.60, 22.62),
    "at sea, 10 km off Hong Kong": box(114.28, 22.08, 114.32, 22.12),
}


def report_body(**fields) -> dict:
    return {"title": "Hostile geometry probe", "category": "accident", "type": "hazmat", "level": "IV",
            "occurred_at": (timezone.now() - timedelta(minutes=30)).isoformat(), "location": dict(IN_SHENZHEN),
            **fields}


class Probe:
    """The paths that take an area, each answering what happened as (status, fields named)."""

    def __init__(self, api_as, make_officer):
        self.api = api_as(SHENZHEN)
        browser = Client()
        browser.force_login(make_officer("geometry-probe", SHENZHEN, "operator"))
        self.browser = browser
        created = self.api.post("/api/v1/incidents/", report_body(), format="json")
        assert created.status_code == 201, created.content
        self.incident = created.json()["id"]

    @staticmethod
    def _answer(response) -> tuple[int, set[str]]:
        errors = response.json().get("errors", {}) if response.status_code == 400 else {}
        return response.status_code, set(errors)

    def create(self, area) -> tuple[int, set[str]]:
        return self._answer(self.api.post("/api/v1/incidents/", report_body(affected_area=area), format="json"))

    def create_raw(self, raw_area: str) -> tuple[int, set[str]]:
        body = json.dumps(report_body(affected_area="AREA")).replace('"AREA"', raw_area)
        return self._answer(self.api.generic("POST", "/api/v1/incidents/", body, content_type="application/json"))

    def patch(self, area) -> tuple[int, set[str]]:
        return self._answer(self.api.patch(f"/api/v1/incidents/{self.incident}/", {"affected_area": area},
                                           format="json"))

    def bulk(self, area) -> tuple[int, set[str]]:
        """The area as the second of three reports; the other two must still be taken."""
        response = self.api.post("/api/v1/incidents/bulk/", [report_body(), report_body(affected_area=area),
                                                             report_body()], format="json")
        if response.status_code != 200:
            return response.status_code, {"(the whole bulk)"}
        results = response.json()["results"]
        if [result["index"] for result in results] != [0, 1, 2] or any(
                results[index]["status"] != 201 for index in (0, 2)):
            return 599, {"(the other items)"}
        item = results[1]
        return item["status"], set(item.get("problem", {}).get("errors", {}))

    def form(self, area) -> tuple[int, set[str]]:
        """The report form takes the points of one ring, as the map draws them."""
        coordinates = area.get("coordinates") if isinstance(area, dict) else area
        points = coordinates[0] if isinstance(coordinates, list) and coordinates else coordinates
        return self.form_raw(json.dumps(points))

    def form_raw(self, polygon_field: str) -> tuple[int, set[str]]:
        response = self.browser.post("/incidents/new/", {
            "title": "Hostile geometry probe", "category": "accident", "type": "hazmat", "level": "IV",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "area_kind": "polygon",
            "lat": IN_SHENZHEN["lat"], "lon": IN_SHENZHEN["lon"], "polygon": polygon_field,
        })
        if response.status_code == 302:
            return 201, set()
        return response.status_code, set(response.context["form"].errors) if response.context else set()

    def paths(self):
        return {"POST": self.create, "PATCH": self.patch, "bulk": self.bulk}


def tried(failures: list, label: str, call, *args, expect: tuple[int, set[str]]) -> None:
    """One case: its answer must be `expect` (a status and the fields named); an exception (what
    a caller would get as a 500) is a failure too."""
    try:
        answer = call(*args)
    except Exception as exc:  # noqa: BLE001 - the server error a caller would get
        failures.append((label, "500", f"{type(exc).__name__}: {exc}"[:200]))
        return
    if answer != expect:
        failures.append((label, answer, expect))


@pytest.fixture
def probe(api_as, make_officer):
    return Probe(api_as, make_officer)


def test_hostile_areas_are_a_400_naming_the_field_on_every_path(probe):
    failures, cases = [], 0
    for name, area in REFUSED.items():
        for path, call in probe.paths().items():
            tried(failures, f"{path}: {name}", call, area, expect=(400, {"affected_area"}))
            cases += 1
    for name, raw in RAW_REFUSED.items():
        tried(failures, f"POST: {name}", probe.create_raw, raw, expect=(400, {"affected_area"}))
        cases += 1
    for name, area in ACCEPTED.items():
        for path, call in probe.paths().items():
            tried(failures, f"{path}: {name}", call, area, expect=(201 if path != "PATCH" else 200, set()))
            cases += 1
    tally("hostile geometry (affected_area)", cases=cases, failures=len(failures))
    assert failures == [], failures


def test_the_web_forms_polygon_goes_through_the_same_rule(probe):
    failures, cases = [], 0
    # The form builds the GeoJSON itself from the points of one ring, closing it: these
    # shapes become a good ring there, so they are not the form's to refuse.
    built_by_the_form = ("ring not closed", "multipolygon too shallow", "type a list", "a list, not an object")
    ui_refused = {name: area for name, area in REFUSED.items() if name not in built_by_the_form}
    for name, area in ui_refused.items():
        tried(failures, f"form: {name}", probe.form, area, expect=(400, {"area_kind"}))
        cases += 1
    for name, area in ACCEPTED.items():
        if area["type"] == "Polygon":
            tried(failures, f"form: {name}", probe.form, area, expect=(201, set()))
            cases += 1
    for name, raw in {"nested deeper than the JSON reader goes": "[" * 100_000 + "]" * 100_000,
                      "NaN": "[[NaN, 22.56], [114.08, 22.56], [114.08, 22.62]]",
                      "Infinity": "[[114.0, 22.56], [Infinity, 22.56], [114.08, 22.62]]"}.items():
        tried(failures, f"form: {name}", probe.form_raw, raw, expect=(400, {"area_kind"}))
        cases += 1
    tally("hostile geometry (affected_area)", cases=cases, failures=len(failures))
    assert failures == [], failures


def test_an_altitude_is_dropped_and_the_area_kept_on_the_ground(probe):
    response = probe.api.post("/api/v1/incidents/", report_body(affected_area=ACCEPTED["2-D and 3-D positions mixed"]),
                              format="json")
    kept = response.json().get("affected_area")
    ok = response.status_code == 201 and kept == polygon(RING)
    tally("hostile geometry (affected_area)", cases=1, failures=int(not ok))
    assert ok, (response.status_code, kept)


def test_an_area_far_from_the_reporters_cluster_is_refused_as_a_location_is(probe):
    failures, cases = [], 0
    for name, area in FAR_AWAY.items():
        for path, call in probe.paths().items():
            tried(failures, f"{path}: {name}", call, area, expect=(400, {"affected_area"}))
            cases += 1
        if "circle" not in area and area["type"] == "Polygon":
            tried(failures, f"form: {name}", probe.form, area, expect=(400, {"area_kind"}))
            cases += 1
    for name, area in NEAR_ENOUGH.items():
        for path, call in probe.paths().items():
            tried(failures, f"{path}: {name}", call, area, expect=(201 if path != "PATCH" else 200, set()))
            cases += 1
    tally("areas outside the cluster", cases=cases, failures=len(failures))
    assert failures == [], failures


# --- fuzzing ------------------------------------------------------------------------------------------------

# Numbers mostly near Shenzhen (so some shapes are valid and placed), some anywhere.
LONS = st.one_of(st.floats(113.95, 114.15), st.integers(-200, 200), st.floats(-1e6, 1e6))
LATS = st.one_of(st.floats(22.52, 22.70), st.integers(-100, 100))
ODD = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.just([]), st.just({}), st.integers(-10, 10))
POSITIONS = st.one_of(
    st.tuples(LONS, LATS).map(list),
    st.tuples(LONS, LATS, st.floats(-1e4, 1e4)).map(list),
    st.lists(st.one_of(LONS, LATS, ODD), max_size=5),
    ODD,
)


def closed(ring: list) -> list:
    return [*ring, ring[0]] if ring else ring


RINGS = st.one_of(st.lists(POSITIONS, max_size=7).map(closed), st.lists(POSITIONS, max_size=7), ODD)
POLYGONS = st.one_of(st.lists(RINGS, max_size=3), RINGS, ODD)
COORDINATES = st.one_of(POLYGONS, st.lists(POLYGONS, max_size=3), POSITIONS)
# Boxes with a random number of ordinates on each corner: the 2-D/3-D/4-D mixtures.
BOXES = st.tuples(st.floats(113.95, 114.10), st.floats(22.52, 22.65), st.floats(0.001, 0.08),
                  st.lists(st.integers(0, 3), min_size=4, max_size=4)).map(
    lambda b: [[[b[0], b[1]], [b[0] + b[2], b[1]], [b[0] + b[2], b[1] + b[2]], [b[0], b[1] + b[2]]],
               b[3]]).map(lambda pair: closed([[*p, *([7.0] * extra)] for p, extra in zip(*pair, strict=True)]))
GEOJSON = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon"]), "coordinates": COORDINATES}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": BOXES.map(lambda ring: [ring])}),
    st.fixed_dictionaries({"type": st.just("MultiPolygon"), "coordinates": st.lists(
        BOXES.map(lambda ring: [ring]), min_size=1, max_size=2)}),
    st.fixed_dictionaries({"type": st.one_of(ODD, st.sampled_from(["Point", "polygon", "GeometryCollection"])),
                           "coordinates": COORDINATES}),
    st.fixed_dictionaries({"circle": st.fixed_dictionaries({"lat": LATS, "lon": LONS,
                                                            "radius_m": st.one_of(st.integers(-5, 10**6), ODD)})}),
    ODD,
)
# Only the rule and the web form read JSON that may hold NaN and infinity (json.loads takes them;
# the API's parser refuses them before any rule).
NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
GEOJSON_NOT_FINITE = st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(
    st.lists(st.one_of(POSITIONS, st.tuples(NOT_FINITE, LATS).map(list), st.tuples(LONS, LATS, NOT_FINITE).map(list)),
             min_size=3, max_size=6).map(closed), min_size=1, max_size=2)})

EXAMPLES = 60


def fuzzed(strategy, check, examples: int = EXAMPLES) -> int:
    """Runs `check` on `examples` generated values (derandomized: the same cases every run)."""
    count = []

    @given(value=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(value):
        count.append(1)
        check(value)

    run()
    return len(count)


def test_generated_geojson_never_breaks_the_rule():
    failures = []

    def check(area):
        try:
            checked_polygon(area)
        except GeometryError:
            pass
        except Exception as exc:  # noqa: BLE001 - anything else is a 500 on some path
            failures.append((area, f"{type(exc).__name__}: {exc}"[:200]))

    cases = fuzzed(GEOJSON, check, 1000) + fuzzed(GEOJSON_NOT_FINITE, check, 300)
    tally("hostile geometry, fuzzed", cases=cases, failures=len(failures))
    assert failures == [], failures[:5]


@pytest.mark.parametrize("path", ["POST", "PATCH", "bulk", "form"])
def test_generated_geojson_never_gives_a_server_error_on_any_path(probe, path):
    failures = []
    call = {**probe.paths(), "form": probe.form}[path]
    field = "area_kind" if path == "form" else "affected_area"

    def check(area):
        try:
            status, fields = call(area)
        except Exception as exc:  # noqa: BLE001 - the server error a caller would get
            failures.append((area, "500", f"{type(exc).__name__}: {exc}"[:200]))
            return
        if status >= 500 or (status == 400 and fields != {field}) or status not in (200, 201, 400):
            failures.append((area, status, fields))

    cases = fuzzed(GEOJSON if path != "form" else st.one_of(GEOJSON, GEOJSON_NOT_FINITE), check)
    tally("hostile geometry, fuzzed", cases=cases, failures=len(failures))
    assert failures == [], failures[:5]


# --- places of mutual aid ------------------------------------------------------------------------------------

# Names with characters PostgreSQL cannot store in text (NUL) or that are no line of text.
NAMES = st.one_of(st.text(max_size=5), st.sampled_from(["pier\x00 3", "\x00", "gate\t3", "gate\n3", "\x7f"]))
PLACES = st.one_of(
    NAMES, ODD, st.lists(ODD, max_size=3),
    st.fixed_dictionaries({}, optional={"name": st.one_of(NAMES, ODD), "lat": st.one_of(LATS, ODD),
                                        "lon": st.one_of(LONS, ODD), "altitude": ODD}),
)


@pytest.mark.parametrize("path", ["inventory", "request"])
def test_generated_places_never_give_a_server_error_on_mutual_aid(probe, path):
    """A mutual-aid place (a name, or {"name", "lat", "lon"}) on an inventory and a request:
    never a 500, and a refusal names `location` (or a key under it)."""
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType

    load_catalogue(ResourceType)
    failures = []
    needed_by = (timezone.now() + timedelta(hours=6)).isoformat()

    def check(place, raw: str | None = None):
        if path == "inventory":
            body, url = {"resource_type": "drainage_pump", "on_hand": 1, "location": place}, "/api/v1/inventories/"
        else:
            body, url = {"incident": probe.incident, "resource_type": "drainage_pump", "quantity": 1,
                         "needed_by": needed_by, "location": place}, "/api/v1/resource-requests/"
        try:
            if raw is None:
                response = probe.api.post(url, body, format="json")
            else:  # JSON escapes no encoder writes for a str (a lone surrogate)
                response = probe.api.generic("POST", url, json.dumps(body).replace('"RAW"', raw),
                                             content_type="application/json")
        except Exception as exc:  # noqa: BLE001 - the server error a caller would get
            failures.append((place, "500", f"{type(exc).__name__}: {exc}"[:200]))
            return
        fields = set(response.json().get("errors", {})) if response.status_code == 400 else set()
        if response.status_code not in (200, 201, 400) or not all(f.split(".")[0] == "location" for f in fields):
            failures.append((place, response.status_code, fields))

    cases = fuzzed(PLACES, check)
    for raw in ('"\\ud800"', '"gate \\udfff 3"'):
        check({"name": "RAW", "lat": 22.6, "lon": 114.0}, raw)
        check("RAW", raw)
        cases += 2
    tally("hostile places (mutual aid)", cases=cases, failures=len(failures))
    assert failures == [], failures[:5]
