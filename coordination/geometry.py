"""GeoJSON checking and the jurisdiction boundary index (shapely).

Incidents, alerts and boundary imports all turn caller-supplied GeoJSON into shapes here, so
"what is an acceptable polygon" is decided once. The index answers "which jurisdictions does
this shape touch" across every cluster, so an area on the edge of two clusters finds both.
"""

import functools
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.strtree import STRtree

EARTH_RADIUS_M = 6_371_008.8
# The bounds of a WGS84 position, for every place a caller gives (a polygon's positions here,
# an incident's location and circle centre in incidents.contract, the web form's fields).
MAX_LATITUDE, MAX_LONGITUDE = 90, 180


class GeometryError(ValueError):
    """A shape we refuse, with the reason in words an officer can act on."""


# A position is [longitude, latitude] or [longitude, latitude, altitude] (RFC 7946 3.1.1).
# Altitude is read (it must be a finite number like the others) and dropped: which
# jurisdictions an area touches is a question on the ground, so a GIS export that carries
# heights, even on some positions only, means the same area as one without. Dropping it from
# every position before shapely sees the rings also keeps shapely from refusing a geometry of
# mixed 2-D and 3-D positions with an error of its own. More than three elements (RFC 7946:
# "SHOULD NOT", their meaning unspecified: a measure, a time) are refused rather than guessed.
POSITION_LENGTHS = (2, 3)


def _is_number(value) -> bool:
    """A JSON number that is a coordinate: not a boolean (bool is an int), finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_position(position, where: str) -> tuple[float, float]:
    if not isinstance(position, (list, tuple)) or len(position) not in POSITION_LENGTHS:
        raise GeometryError(f"{where}: a position is [longitude, latitude] or [longitude, latitude, altitude].")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        raise GeometryError(f"{where}: coordinates must be numbers.")
    if not all(_is_number(v) for v in position):
        raise GeometryError(f"{where}: coordinates must be finite.")
    lon, lat = position[0], position[1]
    if not -MAX_LONGITUDE <= lon <= MAX_LONGITUDE:
        raise GeometryError(f"{where}: longitude {lon} is out of range.")
    if not -MAX_LATITUDE <= lat <= MAX_LATITUDE:
        raise GeometryError(f"{where}: latitude {lat} is out of range.")
    return float(lon), float(lat)


def _check_ring(ring, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise GeometryError(f"{where}: a linear ring is a list of at least four positions.")
    positions = [_check_position(p, where) for p in ring]
    if positions[0] != positions[-1]:
        raise GeometryError(f"{where}: the ring is not closed (the first and last positions differ).")
    return positions


@dataclass(frozen=True)
class CheckedPolygon:
    """A caller's Polygon or MultiPolygon, checked: the shape, and the GeoJSON to keep (its
    positions as given but without altitude, no foreign members such as bbox or crs)."""

    shape: Polygon | MultiPolygon
    geojson: dict


def checked_polygon(obj, *, max_vertices: int | None = None) -> CheckedPolygon:
    """The one rule for a GeoJSON Polygon or MultiPolygon from outside: the type, the nesting
    (a MultiPolygon is a non-empty list of polygons, a polygon a non-empty list of rings, a
    ring a list of positions), every position (2 or 3 finite numbers, longitude within ±180,
    latitude within ±90), closed rings of at least four positions, at most `max_vertices`
    positions, and a valid shape with an area. GeometryError saying why not, and never
    another error, whatever the input (tests/attack/test_hostile_geometry.py fuzzes it)."""
    if max_vertices is None:
        max_vertices = settings.MAX_POLYGON_VERTICES
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError("Expected a GeoJSON Polygon or MultiPolygon.")
    coordinates = obj.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(coordinates, list) or not coordinates:
        raise GeometryError("The coordinates are missing or empty.")
    vertices = 0
    checked: list[list[list[tuple[float, float]]]] = []
    kept: list[list[list[list]]] = []
    for p_index, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            raise GeometryError(f"polygon {p_index}: a polygon is a non-empty list of rings.")
        checked.append([])
        kept.append([])
        for r_index, ring in enumerate(rings):
            vertices += len(ring) if isinstance(ring, list) else 0
            if vertices > max_vertices:
                raise GeometryError(f"More than {max_vertices} vertices.")
            checked[-1].append(_check_ring(ring, f"polygon {p_index} ring {r_index}"))
            kept[-1].append([list(position[:2]) for position in ring])
    shapes = [Polygon(rings[0], rings[1:]) for rings in checked]
    geometry = shapes[0] if kind == "Polygon" else MultiPolygon(shapes)
    if not geometry.is_valid:
        raise GeometryError(f"Invalid polygon: {shapely.is_valid_reason(geometry)}.")
    if geometry.area == 0:
        raise GeometryError("The polygon has no area.")
    return CheckedPolygon(geometry, {"type": kind, "coordinates": kept[0] if kind == "Polygon" else kept})


def polygon_from_geojson(obj, *, max_vertices: int | None = None) -> Polygon | MultiPolygon:
    """A valid Polygon or MultiPolygon from a GeoJSON geometry, or GeometryError saying why not
    (the rule: `checked_polygon`)."""
    return checked_polygon(obj, max_vertices=max_vertices).shape


def circle_polygon(*, lat: float, lon: float, radius_m: float, segments: int = 32) -> Polygon:
    """A circle on the ground as a lon/lat polygon (local equirectangular approximation).

    Good to well under 1% for the radii an incident or an alert uses (up to a few hundred km)
    away from the poles, which is all this service needs.
    """
    d_lat = math.degrees(radius_m / EARTH_RADIUS_M)
    d_lon = d_lat / max(math.cos(math.radians(lat)), 1e-6)
    # One array operation on a cached unit circle: a report with a circle builds one per
    # request, and 32 Python tuples cost more than the rest of placing it (bench/incidents.py).
    return shapely.polygons(_unit_circle(segments) * (d_lon, d_lat) + (lon, lat))


@functools.cache
def _unit_circle(segments: int) -> np.ndarray:
    angles = 2 * math.pi * np.arange(segments) / segments
    circle = np.column_stack([np.cos(angles), np.sin(angles)])
    circle.flags.writeable = False  # shared by every caller
    return circle


@dataclass(frozen=True)
class _IndexEntry:
    code: str
    geometry: object


class BoundaryIndex:
    """Every jurisdiction boundary in an STRtree, built once and rebuilt when boundaries change.

    A process keeps one. It checks a cheap fingerprint of the registry (count and newest
    boundary change) at most every BOUNDARY_INDEX_CHECK_SECONDS, and `invalidate()` (called by
    the services that change boundaries) forces a rebuild in this process at once.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._tree: STRtree | None = None
        self._entries: list[_IndexEntry] = []
        self._fingerprint = None
        self._checked_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = 0.0
            self._fingerprint = None

    def _current_fingerprint(self):
        from django.db.models import Count, Max

        from coordination.models import Jurisdiction

        row = Jurisdiction.objects.filter(boundary__isnull=False).aggregate(
            n=Count("code"), newest=Max("boundary_updated_at")
        )
        return (row["n"], row["newest"])

    def _ensure(self) -> None:
        now = time.monotonic()
        if self._tree is not None and now - self._checked_at < settings.BOUNDARY_INDEX_CHECK_SECONDS:
            return
        with self._lock:
            if self._tree is not None and now - self._checked_at < settings.BOUNDARY_INDEX_CHECK_SECONDS:
                return
            fingerprint = self._current_fingerprint()
            if fingerprint != self._fingerprint or self._tree is None:
                self._build()
                self._fingerprint = fingerprint
            self._checked_at = now

    def _build(self) -> None:
        from coordination.models import Jurisdiction

        entries = []
        for code, boundary in Jurisdiction.objects.filter(boundary__isnull=False).values_list("code", "boundary"):
            try:
                geometry = polygon_from_geojson(boundary, max_vertices=10_000_000)
            except GeometryError:
                continue  # imports refuse bad shapes; anything older that slipped in is ignored
            shapely.prepare(geometry)
            entries.append(_IndexEntry(code, geometry))
        self._entries = entries
        self._tree = STRtree([entry.geometry for entry in entries])

    def touching(self, geometry) -> set[str]:
        """Codes of the jurisdictions whose boundary intersects the geometry."""
        self._ensure()
        if not self._entries:
            return set()
        candidates = self._tree.query(geometry)
        return {
            self._entries[i].code for i in candidates if self._entries[i].geometry.intersects(geometry)
        }

    def containing_point(self, *, lat: float, lon: float) -> set[str]:
        return self.touching(Point(lon, lat))


boundary_index = BoundaryIndex()
