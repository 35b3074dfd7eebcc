"""Where an incident is: its location and area checked, placed in a cluster, and the
jurisdictions it touches (shapely, through coordination.geometry's boundary index).

The index covers every cluster, so an area on the edge of two clusters finds both sides.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from shapely.geometry import MultiPolygon, Point, Polygon

from config.errors import ValidationFailed
from coordination.geometry import (
    EARTH_RADIUS_M,
    MAX_LATITUDE,
    MAX_LONGITUDE,
    GeometryError,
    boundary_index,
    checked_polygon,
    circle_polygon,
)
from coordination.registry import registry

# A circle wider than this is a typo (metres for kilometres), not an incident.
MAX_CIRCLE_RADIUS_M = 500_000


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


def location_checked(*, lat, lon) -> Location:
    """A location from caller input, or a 400 naming `location`."""
    for name, value, bound in (("lat", lat, MAX_LATITUDE), ("lon", lon, MAX_LONGITUDE)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValidationFailed.on("location", f"{name} must be a finite number.")
        if not -bound <= value <= bound:
            raise ValidationFailed.on("location", f"{name} {value} is out of range (±{bound}).")
    return Location(float(lat), float(lon))


@dataclass(frozen=True)
class Area:
    shape: Polygon | MultiPolygon
    stored: dict  # the area as kept and shown: a circle as given, a polygon as checked_polygon keeps it


def area_checked(area) -> Area | None:
    """An `affected_area` (GeoJSON Polygon/MultiPolygon or a circle) checked, or a 400 naming
    `affected_area`. None when there is no area. Every path that takes an incident's area (the
    API's report, bulk and PATCH, the web UI's report form) comes through here."""
    if area is None:
        return None
    if isinstance(area, dict) and "circle" in area:
        return Area(_circle_shape(area), area)
    try:
        polygon = checked_polygon(area)
    except GeometryError as exc:
        raise ValidationFailed.on("affected_area", f"{exc} (a GeoJSON Polygon or MultiPolygon, or a circle)") from None
    return Area(polygon.shape, polygon.geojson)


def area_shape(area) -> Polygon | MultiPolygon | None:
    """The shape of an `affected_area` (see `area_checked`). None when there is no area."""
    checked = area_checked(area)
    return checked.shape if checked is not None else None


def _circle_shape(area: dict) -> Polygon:
    circle = area["circle"]
    if set(area) != {"circle"} or not isinstance(circle, dict) or set(circle) != {"lat", "lon", "radius_m"}:
        raise ValidationFailed.on("affected_area", 'A circle is {"circle": {"lat": …, "lon": …, "radius_m": …}}.')
    radius = circle["radius_m"]
    if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not math.isfinite(radius):
        raise ValidationFailed.on("affected_area", "radius_m must be a finite number.")
    if radius <= 0:
        raise ValidationFailed.on("affected_area", "radius_m must be above 0.")
    if radius > MAX_CIRCLE_RADIUS_M:
        raise ValidationFailed.on("affected_area", f"radius_m must be at most {MAX_CIRCLE_RADIUS_M} (500 km).")
    try:
        centre = location_checked(lat=circle["lat"], lon=circle["lon"])
    except ValidationFailed as exc:
        raise ValidationFailed.on("affected_area", f"circle centre: {exc.errors['location'][0]}") from None
    return circle_polygon(lat=centre.lat, lon=centre.lon, radius_m=float(radius))


@dataclass(frozen=True)
class Placement:
    cluster: str | None  # the reporter's cluster whose boundaries hold the location
    touched: frozenset[str]  # jurisdictions the area (or, without one, the location) touches


def place(*, reporter: str, clusters: tuple[str, ...], location: Location, shape) -> Placement:
    """Which of the reporter's clusters the incident is in, and which jurisdictions it touches.

    The location must lie inside the reporter's cluster (the union of its members'
    boundaries) or within INCIDENT_LOCATION_MARGIN_KM of it; otherwise a 400 naming `location`.
    Each part of the affected area (the polygons of a MultiPolygon; a polygon or a circle is
    one part) is held to that cluster by the same rule, `_cluster_reached`: it must reach into
    the cluster or come within the margin of it; otherwise a 400 naming `affected_area`. A part
    may reach beyond (a typhoon's circle out to sea, an area across the edge of two clusters),
    but no part may lie elsewhere: an area anywhere on earth made the jurisdictions under it
    "affected" (so they saw the incident, and its playbooks asked them to act).
    """
    areas = _reference_areas(reporter=reporter, clusters=clusters)
    here = _touching_point(location)
    cluster = _cluster_reached(
        areas, Point(location.lon, location.lat), here, field="location",
        what=f"({location.lat}, {location.lon})",
    )
    if shape is None:
        return Placement(cluster=cluster, touched=frozenset(here))
    own = [(c, members) for c, members in areas if c == cluster]
    parts = list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]
    touched: set[str] = set()
    for index, part in enumerate(parts):
        part_touches = boundary_index.touching(part)
        _cluster_reached(own, part, part_touches, field="affected_area",
                         what="The area" if len(parts) == 1 else f"Polygon {index} of the area")
        touched |= part_touches
    return Placement(cluster=cluster, touched=frozenset(touched))


def affected_codes(*, reporter: str, touched: frozenset[str], manual: frozenset[str] = frozenset()) -> list[str]:
    """docs/api.md, "Incidents": the reporter, every jurisdiction touched, and any added by hand."""
    return sorted(touched | manual | {reporter})


def _touching_point(location: Location) -> set[str]:
    return boundary_index.containing_point(lat=location.lat, lon=location.lon)


def _reference_areas(*, reporter: str, clusters: tuple[str, ...]) -> list[tuple[str | None, frozenset[str]]]:
    """The areas a location is checked against: each cluster's members, or the reporter alone
    when it belongs to no cluster."""
    members = registry().members
    if not clusters:
        return [(None, frozenset({reporter}))]
    return [(cluster, members.get(cluster, frozenset())) for cluster in sorted(clusters)]


def cluster_holding(*, reporter: str, clusters: tuple[str, ...], location: Location) -> str | None:
    """The reporter's cluster that holds the location (see `place`), or a 400 naming `location`."""
    return _cluster_reached(
        _reference_areas(reporter=reporter, clusters=clusters), Point(location.lon, location.lat),
        _touching_point(location), field="location", what=f"({location.lat}, {location.lon})",
    )


def _cluster_reached(areas: list[tuple[str | None, frozenset[str]]], geometry, touched: set[str], *, field: str,
                     what: str) -> str | None:
    """The rule that holds a place (a location, an area) to the reporter's cluster: the first
    of `areas` whose members the geometry touches (`touched`, the index's answer for it), or
    comes within INCIDENT_LOCATION_MARGIN_KM of; a 400 naming `field` when none."""
    for cluster, members in areas:
        if touched & members:
            return cluster
    margin_km = settings.INCIDENT_LOCATION_MARGIN_KM
    if margin_km > 0:
        near = boundary_index.touching(_margin_around(geometry, margin_km))
        for cluster, members in areas:
            if near & members:
                return cluster
    if not _any_boundary_known(frozenset().union(*(members for _, members in areas))):
        # Nothing to check against (a registry without boundaries yet): an emergency report
        # is not refused for want of maps.
        return areas[0][0] if areas else None
    raise ValidationFailed.on(field, f"{what} is outside your cluster by more than {margin_km:g} km.")


def _margin_around(geometry, margin_km: float):
    """The geometry widened by the margin: a circle around a point; around an area, its convex
    hull buffered by the margin. The hull keeps the buffer cheap however many vertices the area
    has, at the price of a little generosity (a concave part's hull may come nearer the cluster
    than the part does). The buffer is in degrees, as wide as the margin in longitude at the
    area's latitude farthest from the equator (where a degree of longitude is shortest), so it
    is at least the margin in every direction."""
    if isinstance(geometry, Point):
        return circle_polygon(lat=geometry.y, lon=geometry.x, radius_m=margin_km * 1000, segments=64)
    _, min_lat, _, max_lat = geometry.bounds
    far = min(max(abs(min_lat), abs(max_lat)), 89.0)
    degrees = math.degrees(margin_km * 1000 / EARTH_RADIUS_M) / math.cos(math.radians(far))
    return geometry.convex_hull.buffer(degrees, quad_segs=16)


def _any_boundary_known(codes: frozenset[str]) -> bool:
    from coordination.models import Jurisdiction

    return Jurisdiction.objects.filter(code__in=codes, boundary__isnull=False).exists()
