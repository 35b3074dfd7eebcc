"""Where an incident is: its location and area checked, placed in a cluster, and the
jurisdictions it touches (shapely, through coordination.geometry's boundary index).

The index covers every cluster, so an area on the edge of two clusters finds both sides.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from shapely.geometry import MultiPolygon, Polygon

from config.errors import ValidationFailed
from coordination.geometry import GeometryError, boundary_index, circle_polygon, polygon_from_geojson
from sharing.visibility import sharing_context

# A circle wider than this is a typo (metres for kilometres), not an incident.
MAX_CIRCLE_RADIUS_M = 500_000


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


def location_checked(*, lat, lon) -> Location:
    """A location from caller input, or a 400 naming `location`."""
    for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValidationFailed.on("location", f"{name} must be a finite number.")
        if not -bound <= value <= bound:
            raise ValidationFailed.on("location", f"{name} {value} is out of range (±{bound}).")
    return Location(float(lat), float(lon))


def area_shape(area) -> Polygon | MultiPolygon | None:
    """The shape of an `affected_area` (GeoJSON Polygon/MultiPolygon or a circle), or a 400
    naming `affected_area`. None when there is no area."""
    if area is None:
        return None
    if isinstance(area, dict) and "circle" in area:
        return _circle_shape(area)
    try:
        return polygon_from_geojson(area)
    except GeometryError as exc:
        raise ValidationFailed.on("affected_area", f"{exc} (a GeoJSON Polygon or MultiPolygon, or a circle)") from None


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
    """
    cluster = cluster_holding(reporter=reporter, clusters=clusters, location=location)
    touched = boundary_index.touching(shape) if shape is not None else _touching_point(location)
    return Placement(cluster=cluster, touched=frozenset(touched))


def affected_codes(*, reporter: str, touched: frozenset[str], manual: frozenset[str] = frozenset()) -> list[str]:
    """docs/api.md, "Incidents": the reporter, every jurisdiction touched, and any added by hand."""
    return sorted(touched | manual | {reporter})


def _touching_point(location: Location) -> set[str]:
    return boundary_index.containing_point(lat=location.lat, lon=location.lon)


def _reference_areas(*, reporter: str, clusters: tuple[str, ...]) -> list[tuple[str | None, frozenset[str]]]:
    """The areas a location is checked against: each cluster's members, or the reporter alone
    when it belongs to no cluster."""
    members = sharing_context().members
    if not clusters:
        return [(None, frozenset({reporter}))]
    return [(cluster, members.get(cluster, frozenset())) for cluster in sorted(clusters)]


def cluster_holding(*, reporter: str, clusters: tuple[str, ...], location: Location) -> str | None:
    areas = _reference_areas(reporter=reporter, clusters=clusters)
    here = _touching_point(location)
    for cluster, members in areas:
        if here & members:
            return cluster
    margin_km = settings.INCIDENT_LOCATION_MARGIN_KM
    if margin_km > 0:
        near = boundary_index.touching(
            circle_polygon(lat=location.lat, lon=location.lon, radius_m=margin_km * 1000, segments=64)
        )
        for cluster, members in areas:
            if near & members:
                return cluster
    if not _any_boundary_known(frozenset().union(*(members for _, members in areas))):
        # Nothing to check against (a registry without boundaries yet): an emergency report
        # is not refused for want of maps.
        return areas[0][0]
    raise ValidationFailed.on(
        "location",
        f"({location.lat}, {location.lon}) is outside your cluster by more than {margin_km:g} km.",
    )


def _any_boundary_known(codes: frozenset[str]) -> bool:
    from coordination.models import Jurisdiction

    return Jurisdiction.objects.filter(code__in=codes, boundary__isnull=False).exists()
