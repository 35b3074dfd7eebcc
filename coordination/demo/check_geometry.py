#!/usr/bin/env python3
"""Check the Greater Bay Area demo data (gba.json) for geometric and referential consistency.

Standalone: needs only Python 3 and shapely (no Django). Usage:

    python coordination/demo/check_geometry.py [path/to/gba.json]

Distances use a local metric approximation: 1 degree of latitude = 111 km and 1 degree of
longitude = 111 km x cos(latitude), with the reference latitude taken locally (per pair of
jurisdictions, or at the centre of a test circle). Prints a short report and exits 1 if any
check fails.
"""

import json
import math
import re
import sys
import zoneinfo
from pathlib import Path

import shapely
from shapely.geometry import LinearRing, Point, shape

KM_PER_DEG = 111.0
MIN_GAP_KM = 1.0  # jurisdictions that are not adjacent must be at least this far apart
MAX_SLIVER_KM = 1.0  # adjacent jurisdictions may overlap, but only by a sliver this wide
MIN_SHARED_KM = 1.0  # adjacent jurisdictions must share at least this much border (or overlap)
MIN_VERTICES, MAX_VERTICES = 12, 40
AREA_TOLERANCE = 2.0  # polygon area within [real / 2, real * 2]

TOP_KEYS = {
    "cluster",
    "boundary_source",
    "boundary_note",
    "provinces",
    "metropolitan_circles",
    "jurisdictions",
    "adjacency",
    "coordination_bodies",
}
OPTIONAL_TOP_KEYS = {"adjacency_notes", "body_officers", "body_officers_note"}  # officers: load_body_officers
JURISDICTION_KEYS = {"code", "name_zh", "name_zh_hant", "name_en", "level", "parent", "is_core", "circle", "centroid",
                     "boundary"}

# The GBA members (GB/T 2260 codes), their real land areas in km^2 (rounded, for the proportion check).
EXPECTED = {
    "440100": ("广州市", 7434),
    "440300": ("深圳市", 1997),
    "440400": ("珠海市", 1736),
    "440600": ("佛山市", 3798),
    "440700": ("江门市", 9507),
    "441200": ("肇庆市", 14891),
    "441300": ("惠州市", 11347),
    "441900": ("东莞市", 2460),
    "442000": ("中山市", 1784),
    "810000": ("香港特别行政区", 1107),
    "820000": ("澳门特别行政区", 33),
}
CORE = {"810000", "820000", "440100", "440300"}
SARS = {"810000", "820000"}
CIRCLES = {
    "GFZ": ("440100", {"440100", "440600", "441200"}),
    "SGH": ("440300", {"440300", "441900", "441300"}),
    "ZZJ": ("440400", {"440400", "442000", "440700"}),
}
# Borders that certainly exist; the adjacency list must contain at least these.
KNOWN_ADJACENT = [
    ("440300", "441900"),
    ("440300", "441300"),
    ("440300", "810000"),
    ("441900", "440100"),
    ("441900", "441300"),
    ("440100", "440600"),
    ("440100", "441300"),
    ("440100", "442000"),
    ("440600", "441200"),
    ("440600", "440700"),
    ("440600", "442000"),
    ("442000", "440700"),
    ("442000", "440400"),
    ("440400", "440700"),
    ("440400", "820000"),
]
# (name, lon, lat, expected code): each point must lie in that jurisdiction and in no other.
LANDMARKS = [
    ("Shenzhen Futian", 114.055, 22.543, "440300"),
    ("Shenzhen Longgang", 114.247, 22.720, "440300"),
    ("Dongguan city", 113.752, 23.021, "441900"),
    ("Dongguan Fenggang", 114.140, 22.745, "441900"),
    ("Guangzhou Tianhe", 113.361, 23.125, "440100"),
    ("Guangzhou Nansha", 113.525, 22.801, "440100"),
    ("Foshan Chancheng", 113.122, 23.009, "440600"),
    ("Zhaoqing", 112.465, 23.047, "441200"),
    ("Huizhou", 114.416, 23.111, "441300"),
    ("Zhongshan", 113.392, 22.517, "442000"),
    ("Jiangmen", 113.081, 22.579, "440700"),
    ("Zhuhai Xiangzhou", 113.553, 22.271, "440400"),
    ("Zhuhai Doumen", 113.296, 22.209, "440400"),
    ("Hong Kong Central", 114.158, 22.282, "810000"),
    ("Hong Kong Sha Tin", 114.188, 22.383, "810000"),
    ("Macao", 113.543, 22.187, "820000"),
    ("Macao Taipa", 113.557, 22.156, "820000"),
]
# (name, lon, lat, radius km, codes the circle must hit, exact?): exact means it must hit nothing else.
CIRCLE_CASES = [
    ("5 km around Shenzhen/Dongguan border (114.05, 22.68)", 114.05, 22.68, 5.0, {"440300", "441900"}, False),
    ("2 km around Zhuhai Xiangzhou (113.553, 22.271)", 113.553, 22.271, 2.0, {"440400"}, True),
]


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
        return bool(condition)


def to_km(geom, lat0, lon0):
    """Project lon/lat to a local plane in km around (lat0, lon0)."""
    kx = KM_PER_DEG * math.cos(math.radians(lat0))

    def f(coords):
        out = coords.copy()
        out[:, 0] = (coords[:, 0] - lon0) * kx
        out[:, 1] = (coords[:, 1] - lat0) * KM_PER_DEG
        return out

    return shapely.transform(geom, f)


def polygons_of(boundary):
    """The list of polygons (each a list of rings) of a GeoJSON Polygon/MultiPolygon."""
    if boundary.get("type") == "Polygon":
        return [boundary.get("coordinates")]
    if boundary.get("type") == "MultiPolygon":
        return list(boundary.get("coordinates"))
    return None


def check_rings(c, code, boundary):
    polys = polygons_of(boundary)
    if not c.check(polys, f"{code}: boundary type must be Polygon or MultiPolygon, got {boundary.get('type')!r}"):
        return 0
    total = 0
    for pi, rings in enumerate(polys):
        if not c.check(isinstance(rings, list) and rings, f"{code}: polygon {pi} has no rings"):
            continue
        c.check(len(rings) == 1, f"{code}: polygon {pi} has holes ({len(rings) - 1}); none expected")
        for ri, ring in enumerate(rings):
            where = f"{code}: polygon {pi} ring {ri}"
            ok = all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in ring)
            if not c.check(ok and len(ring) >= 4, f"{where}: coordinates must be [lon, lat] pairs"):
                continue
            c.check(ring[0] == ring[-1], f"{where}: ring not closed (first {ring[0]} != last {ring[-1]})")
            n = len(ring) - 1
            if ri == 0:
                total += n
                c.check(
                    MIN_VERTICES <= n <= MAX_VERTICES, f"{where}: {n} vertices, expected {MIN_VERTICES}-{MAX_VERTICES}"
                )
            c.check(
                all(111.0 <= lon <= 116.0 and 21.0 <= lat <= 25.0 for lon, lat in ring),
                f"{where}: coordinate outside the GBA window (lon 111-116, lat 21-25); swapped lon/lat?",
            )
            c.check(all(ring[i] != ring[i + 1] for i in range(len(ring) - 1)), f"{where}: repeated vertex")
            lr = LinearRing(ring)
            c.check(lr.is_simple, f"{where}: ring self-intersects")
            if ri == 0:
                c.check(lr.is_ccw, f"{where}: exterior ring must be counter-clockwise")
            else:
                c.check(not lr.is_ccw, f"{where}: hole must be clockwise")
    c.check(total <= MAX_VERTICES, f"{code}: {total} vertices in total, at most {MAX_VERTICES}")
    return total


def main(path):
    c = Checker()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    report = [f"Checking {path}"]

    # ---- structure and references -------------------------------------------------------------
    keys = set(data)
    c.check(
        TOP_KEYS <= keys and keys <= TOP_KEYS | OPTIONAL_TOP_KEYS,
        f"top-level keys: missing {sorted(TOP_KEYS - keys)}, unexpected {sorted(keys - TOP_KEYS - OPTIONAL_TOP_KEYS)}",
    )
    cluster = data.get("cluster", {})
    cluster_keys = {"code", "name_zh", "name_zh_hant", "name_en", "time_zone"}
    c.check(set(cluster) == cluster_keys, f"cluster keys: {sorted(cluster)}")
    c.check(cluster.get("code") == "GBA", "cluster code must be GBA")
    c.check(cluster.get("time_zone") in zoneinfo.available_timezones(), f"unknown time zone {cluster.get('time_zone')}")
    c.check(data.get("boundary_source") == "approximate", "boundary_source must be 'approximate'")
    c.check(isinstance(data.get("boundary_note"), str) and data["boundary_note"].strip(), "boundary_note missing")
    notes = data.get("adjacency_notes", [])
    c.check(isinstance(notes, list) and all(isinstance(n, str) for n in notes), "adjacency_notes must be strings")

    provinces = {p["code"]: p for p in data.get("provinces", [])}
    c.check(len(provinces) == len(data.get("provinces", [])), "duplicate province codes")
    c.check("440000" in provinces, "province 440000 (Guangdong) missing")

    jl = data.get("jurisdictions", [])
    j = {x["code"]: x for x in jl}
    c.check(len(j) == len(jl), "duplicate jurisdiction codes")
    c.check(
        set(j) == set(EXPECTED),
        f"jurisdictions: missing {sorted(set(EXPECTED) - set(j))}, unexpected {sorted(set(j) - set(EXPECTED))}",
    )
    circles = {x["code"]: x for x in data.get("metropolitan_circles", [])}
    c.check(len(circles) == len(data.get("metropolitan_circles", [])), "duplicate circle codes")
    bodies = {x["code"]: x for x in data.get("coordination_bodies", [])}
    c.check(len(bodies) == len(data.get("coordination_bodies", [])), "duplicate coordination body codes")
    all_codes = list(provinces) + list(j) + list(circles) + list(bodies) + [cluster.get("code")]
    c.check(len(all_codes) == len(set(all_codes)), "a code is used for two different things")

    for code, x in j.items():
        c.check(set(x) == JURISDICTION_KEYS, f"{code}: keys {sorted(set(x) ^ JURISDICTION_KEYS)} differ")
        c.check(re.fullmatch(r"[1-9]\d{5}", code), f"{code}: not a six-digit GB/T 2260 code")
        if code in EXPECTED:
            c.check(x.get("name_zh") == EXPECTED[code][0], f"{code}: name_zh {x.get('name_zh')} != {EXPECTED[code][0]}")
        c.check(x.get("name_en"), f"{code}: name_en missing")
        c.check(x.get("is_core") is (code in CORE), f"{code}: is_core should be {code in CORE}")
        if code in SARS:
            c.check(
                x.get("level") == "sar" and x.get("parent") is None, f"{code}: SAR must have level sar, parent null"
            )
            c.check(x.get("circle") is None, f"{code}: SARs belong to no metropolitan circle")
        else:
            c.check(x.get("level") == "prefecture", f"{code}: level should be prefecture")
            c.check(x.get("parent") == "440000" and x.get("parent") in provinces, f"{code}: parent should be 440000")
        circ = x.get("circle")
        if circ is not None:
            c.check(
                circ in circles and code in circles[circ].get("members", []),
                f"{code}: circle {circ} unknown or does not list it",
            )

    c.check(set(circles) == set(CIRCLES), f"circles: {sorted(circles)} != {sorted(CIRCLES)}")
    for code, circ in circles.items():
        members = circ.get("members", [])
        c.check(len(members) == len(set(members)), f"circle {code}: duplicate members")
        c.check(all(m in j for m in members), f"circle {code}: unknown member")
        c.check(circ.get("lead") in members, f"circle {code}: lead {circ.get('lead')} is not a member")
        c.check(
            {m for m in j if j[m].get("circle") == code} == set(members),
            f"circle {code}: members disagree with the jurisdictions' circle field",
        )
        if code in CIRCLES:
            lead, want = CIRCLES[code]
            c.check(
                circ.get("lead") == lead and set(members) == want,
                f"circle {code}: expected lead {lead}, members {sorted(want)}",
            )

    committees = [b for b in bodies.values() if b.get("kind") == "committee"]
    c.check(
        len(committees) == 1 and set(committees[0].get("members", [])) == set(j),
        "need exactly one committee, with all jurisdictions as members",
    )
    for code, b in bodies.items():
        members = b.get("members", [])
        c.check(b.get("kind") in {"committee", "joint_conference"}, f"body {code}: bad kind {b.get('kind')}")
        c.check(b.get("name_zh") and b.get("name_en"), f"body {code}: names missing")
        c.check(
            members and len(members) == len(set(members)) and all(m in j for m in members),
            f"body {code}: members empty, duplicated or unknown",
        )
    for code, circ in circles.items():
        c.check(
            any(
                b.get("kind") == "joint_conference" and set(b.get("members", [])) == set(circ.get("members", []))
                for b in bodies.values()
            ),
            f"circle {code}: no joint conference with the same members",
        )

    pairs = set()
    for pair in data.get("adjacency", []):
        ok = isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1] and all(p in j for p in pair)
        if c.check(ok, f"adjacency entry {pair!r} invalid"):
            key = frozenset(pair)
            c.check(key not in pairs, f"adjacency pair {pair} listed twice")
            pairs.add(key)
    for a, b in KNOWN_ADJACENT:
        c.check(frozenset((a, b)) in pairs, f"known border {a}-{b} missing from adjacency")

    # ---- geometry --------------------------------------------------------------------------------
    geoms, vertex_counts = {}, {}
    for code, x in j.items():
        vertex_counts[code] = check_rings(c, code, x.get("boundary", {}))
        try:
            g = shape(x["boundary"])
        except Exception as exc:  # noqa: BLE001 - report any parse problem as a failure
            c.check(False, f"{code}: boundary does not parse: {exc}")
            continue
        if c.check(g.is_valid, f"{code}: invalid geometry: {shapely.is_valid_reason(g)}"):
            geoms[code] = g

    report.append("Jurisdictions (vertices, area vs real, centroid offset from polygon centroid):")
    for code, g in geoms.items():
        x = j[code]
        lat, lon = x["centroid"]["lat"], x["centroid"]["lon"]
        c.check(g.contains(Point(lon, lat)), f"{code}: centroid ({lat}, {lon}) is not inside its polygon")
        gk = to_km(g, lat, lon)
        area = gk.area
        real = EXPECTED.get(code, (None, None))[1]
        if real:
            c.check(
                real / AREA_TOLERANCE <= area <= real * AREA_TOLERANCE,
                f"{code}: area {area:.0f} km2 is out of proportion with the real {real} km2",
            )
        offset = gk.centroid.distance(Point(0, 0))
        report.append(
            f"  {code} {x['name_en']:<14} {vertex_counts[code]:>3} v  {area:>7.0f} km2 (real {real})"
            f"  centroid offset {offset:4.1f} km"
        )

    codes = sorted(geoms)
    n_adj = n_far = 0
    before = len(c.failures)
    closest = (math.inf, "")
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            lat0 = (j[a]["centroid"]["lat"] + j[b]["centroid"]["lat"]) / 2
            lon0 = (j[a]["centroid"]["lon"] + j[b]["centroid"]["lon"]) / 2
            ga, gb = to_km(geoms[a], lat0, lon0), to_km(geoms[b], lat0, lon0)
            name = f"{a} {j[a]['name_en']} / {b} {j[b]['name_en']}"
            if frozenset((a, b)) in pairs:
                n_adj += 1
                overlap = ga.intersection(gb)
                shared = ga.boundary.intersection(gb.boundary).length
                c.check(ga.intersects(gb), f"adjacent but disjoint ({ga.distance(gb):.2f} km apart): {name}")
                c.check(
                    shared >= MIN_SHARED_KM or overlap.area > 0,
                    f"adjacent but share only {shared:.2f} km of border: {name}",
                )
                c.check(
                    overlap.area == 0 or overlap.buffer(-MAX_SLIVER_KM / 2).is_empty,
                    f"adjacent but overlap by more than a {MAX_SLIVER_KM} km sliver ({overlap.area:.2f} km2): {name}",
                )
            else:
                n_far += 1
                d = ga.distance(gb)
                closest = min(closest, (d, name))
                c.check(d >= MIN_GAP_KM, f"not adjacent but only {d:.2f} km apart: {name}")
    status = "all fine" if len(c.failures) == before else f"{len(c.failures) - before} problems"
    report.append(
        f"Pairs: {n_adj} adjacent (must touch, overlap at most a {MAX_SLIVER_KM} km sliver), "
        f"{n_far} non-adjacent (must be >= {MIN_GAP_KM} km apart): {status}; "
        f"closest non-adjacent: {closest[1]} at {closest[0]:.1f} km"
    )

    for label, lon, lat, want in LANDMARKS:
        hits = sorted(code for code, g in geoms.items() if g.contains(Point(lon, lat)))
        c.check(hits == [want], f"landmark {label} ({lon}, {lat}) falls in {hits or 'nothing'}, expected {want}")
    report.append(f"Landmarks: {len(LANDMARKS)} checked")

    for label, lon, lat, radius, want, exact in CIRCLE_CASES:
        disc = Point(0, 0).buffer(radius, quad_segs=32)
        hits = {code for code, g in geoms.items() if to_km(g, lat, lon).intersects(disc)}
        ok = hits == want if exact else want <= hits
        c.check(ok, f"circle {label} hits {sorted(hits)}, expected {'exactly' if exact else 'at least'} {sorted(want)}")
        report.append(f"Circle {label}: hits {sorted(hits)}")

    print("\n".join(report))
    if c.failures:
        print(f"FAILED: {len(c.failures)} of {len(c.failures) + c.passed} checks")
        for f in c.failures:
            print("  - " + f)
        return 1
    print(f"OK: all {c.passed} checks passed")
    return 0


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("gba.json")
    sys.exit(main(target))
