"""The jurisdictions a CAP alert's areas touch: polygons and circles by geometry (through
coordination.geometry's boundary index), geocodes by GB/T 2260 administrative division code.

Received alerts are not ours to correct, so a shape that cannot be used (an open or
self-crossing ring, coordinates off the globe) is set aside rather than refusing the whole
warning: its geocodes and its other shapes still place it.
"""

import math
import re
from collections.abc import Iterable

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from coordination.geometry import GeometryError, boundary_index, circle_polygon, polygon_from_geojson
from coordination.models import Jurisdiction
from incidents.alerts.cap import Area

# The <valueName>s read as GB/T 2260 codes, compared in upper case with spaces removed: so
# "GB/T 2260" (what docs/cap.md documents and we write), "GB/T2260", "GB2260", "GBT2260"
# and "gb/t 2260" all count.
GB_T_2260_VALUE_NAMES = frozenset({"GB/T2260", "GB2260", "GBT2260"})

# A GB/T 2260 code is six digits; the statistical division codes (统计用区划代码) extend it to
# nine (township) or twelve (village) digits and begin with it.
_DIVISION_CODE = re.compile(r"[1-9]\d{5}(?:\d{3}|\d{6})?")

# CAP polygons come from other systems' maps, often finer than what a caller types into
# our API (MAX_POLYGON_VERTICES); the document size limit (CAP_MAX_BYTES) bounds them.
MAX_CAP_POLYGON_VERTICES = 200_000


def is_gb_t_2260(value_name: str) -> bool:
    return "".join(value_name.split()).upper() in GB_T_2260_VALUE_NAMES


def division_codes(areas: Iterable[Area]) -> list[str]:
    """The six-digit GB/T 2260 codes the areas' geocodes name, in document order, once each."""
    codes: dict[str, None] = {}
    for area in areas:
        for value_name, value in area.geocodes:
            value = value.strip()
            if is_gb_t_2260(value_name) and _DIVISION_CODE.fullmatch(value):
                codes[value[:6]] = None
    return list(codes)


def jurisdictions_for_codes(codes: Iterable[str]) -> set[str]:
    """Registered jurisdictions for GB/T 2260 codes.

    A registered code is that jurisdiction and every registered one under it (a province
    stands for its cities). A code we do not hold (a district, a city outside the registry)
    goes up the hierarchy the code itself spells: 440402 (香洲区) is 440400 (珠海市), else
    440000 (广东省).
    """
    codes = list(codes)
    if not codes:
        return set()
    parents = dict(Jurisdiction.objects.values_list("code", "parent_id"))
    children: dict[str, set[str]] = {}
    for code, parent in parents.items():
        if parent:
            children.setdefault(parent, set()).add(code)
    found: set[str] = set()
    for code in codes:
        for candidate in (code, code[:4] + "00", code[:2] + "0000"):
            if candidate in parents:
                found.add(candidate)
                if candidate == code:
                    found |= _descendants(code, children)
                break
    return found


def _descendants(code: str, children: dict[str, set[str]]) -> set[str]:
    below, queue = set(), [code]
    while queue:
        for child in children.get(queue.pop(), ()):
            if child not in below:
                below.add(child)
                queue.append(child)
    return below


def _polygon(points: list[tuple[float, float]]) -> BaseGeometry | None:
    ring = [[lon, lat] for lat, lon in points]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    try:
        return polygon_from_geojson({"type": "Polygon", "coordinates": [ring]}, max_vertices=MAX_CAP_POLYGON_VERTICES)
    except GeometryError:
        pass
    # A self-crossing ring (a "bow tie" from a hand-drawn warning area) still says where the
    # warning is: repaired, its pieces are used; anything else unusable is set aside.
    if len(ring) < 4 or not all(_on_globe(lat, lon) for lon, lat in ring):
        return None
    repaired = shapely.make_valid(shapely.Polygon(ring))
    return repaired if not repaired.is_empty and repaired.area > 0 else None


def _on_globe(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _circle(lat: float, lon: float, radius_km: float) -> BaseGeometry | None:
    if not _on_globe(lat, lon) or not math.isfinite(radius_km) or radius_km < 0:
        return None
    # CAP writes a point (an epicentre, a tsunami source) as a circle of radius 0.
    if radius_km == 0:
        return Point(lon, lat)
    return circle_polygon(lat=lat, lon=lon, radius_m=radius_km * 1000)


def area_shapes(area: Area) -> list[BaseGeometry]:
    shapes = [_polygon(points) for points in area.polygons]
    shapes += [_circle(*circle) for circle in area.circles]
    return [shape for shape in shapes if shape is not None]


def affected_jurisdictions(areas: Iterable[Area]) -> set[str]:
    """Every registered jurisdiction the areas touch, by shape or by geocode."""
    areas = list(areas)
    found = jurisdictions_for_codes(division_codes(areas))
    for area in areas:
        for shape in area_shapes(area):
            found |= boundary_index.touching(shape)
    return found
