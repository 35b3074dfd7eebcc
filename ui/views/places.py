"""The report form's helpers (issue 19): where its map starts, the place search's list, and the
preview of which jurisdictions a drawn area would reach (docs/ui.md, "Reporting").

The preview answers with the report's own rule: the form's checks (ui.forms.ReportForm), the
input contract (incidents.contract.report_checked: incidents.areas.location_checked and
area_checked, which hold polygons to coordination.geometry's one rule), then
incidents.areas.place and affected_codes, as incidents.services._new_incident calls them. So
what the officer reads under the map is what the incident gets.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.errors import ValidationFailed
from coordination.principals import Principal
from coordination.registry import registry as registry_snapshot
from coordination.roles import Action
from coordination.selectors import jurisdiction_list
from incidents import contract
from incidents.areas import affected_codes, place
from sharing.mutualaid.selectors import inventory_list_visible_to
from ui import registry
from ui.access import officer_view
from ui.forms import ReportForm
from ui.labels import _zh

# The form's fields that say where: the preview answers about these alone.
WHERE_FIELDS = ("area_kind", "lat", "lon", "radius_km", "polygon")


# --- the registry's places, kept with its snapshot ------------------------------------------------


def _bounds(geometry: dict | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of a GeoJSON Polygon/MultiPolygon (Leaflet's order)."""
    if not geometry:
        return None
    polygons = geometry["coordinates"] if geometry.get("type") == "MultiPolygon" else [geometry.get("coordinates")]
    points = [point for polygon in polygons or [] for ring in polygon or [] for point in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _build_geography() -> dict:
    """Every jurisdiction's centroid and bounds, once per registry snapshot (they change with
    the registry, by its one reload rule: coordination.registry)."""
    rows = (jurisdiction_list().defer(None).prefetch_related(None)
            .values_list("code", "centroid_lat", "centroid_lon", "boundary"))
    return {
        code: {"centroid": [lat, lon] if lat is not None and lon is not None else None, "bounds": _bounds(boundary)}
        for code, lat, lon, boundary in rows
    }


def _geography() -> dict:
    return registry_snapshot().derived("ui.places.geography", _build_geography)


def _union(boxes) -> list[list[float]] | None:
    boxes = [box for box in boxes if box]
    if not boxes:
        return None
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]


def _cluster_members(principal: Principal) -> list[str]:
    members = registry_snapshot().members
    return sorted(set().union(*(members.get(cluster, frozenset()) for cluster in principal.clusters)))


def start_bounds(principal: Principal) -> list[list[float]] | None:
    """Where the report form's map starts: the officer's own jurisdiction; a coordinator's, its
    clusters (a coordinator answers for the whole of them). None without boundaries."""
    geography = _geography()
    codes = _cluster_members(principal) if principal.is_coordinator else [principal.jurisdiction]
    return _union(geography.get(code, {}).get("bounds") for code in codes)


def place_list(*, principal: Principal) -> list[dict]:
    """What the place search offers: the officer's clusters' jurisdictions (names in Chinese and
    English, matched by substring on the page) and the depots their stock is kept at (the
    mutual-aid inventories' places, as the resources board shows them to this officer)."""
    geography = _geography()
    snapshot = registry_snapshot()
    found = []
    for code in _cluster_members(principal):
        where = geography.get(code, {})
        centre = where.get("centroid")
        bounds = where.get("bounds")
        if centre is None and bounds is None:
            continue
        if centre is None:
            centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
        name_zh, name_en = snapshot.names[code]
        found.append({"kind": "jurisdiction", "kind_label": _("Jurisdiction"), "code": code,
                      "name": registry.place_name(code),
                      "names": list(dict.fromkeys([name_zh, name_en, registry.place_name(code)])),
                      "lat": centre[0], "lon": centre[1], "bounds": bounds})
    members = set(_cluster_members(principal))
    depots = (inventory_list_visible_to(principal=principal)
              .filter(jurisdiction_id__in=members, location_lat__isnull=False, location_lon__isnull=False)
              .exclude(location_name="")
              .values_list("location_name", "location_lat", "location_lon", "jurisdiction_id")
              .order_by("jurisdiction_id", "location_name").distinct())
    for name, lat, lon, code in depots:
        # A demo depot's stored name is "Chinese (English)": shown in the reader's language,
        # matched by either (and by its jurisdiction's names).
        shown = registry.depot_name(name)
        found.append({"kind": "depot", "kind_label": _("Reserve depot"), "code": code, "name": shown,
                      "names": list(dict.fromkeys([name, shown, *snapshot.names.get(code, ())])),
                      "lat": lat, "lon": lon, "bounds": None})
    return found


@require_GET
@officer_view
def places(request):
    return JsonResponse({"places": place_list(principal=request.principal)})


# --- the preview -----------------------------------------------------------------------------------


def _where(cleaned: dict) -> dict:
    """The location and area as ReportForm.report_data gives them to the service."""
    where = {"location": {"lat": cleaned["lat"], "lon": cleaned["lon"]}}
    if cleaned["area_kind"] == "circle":
        where["affected_area"] = {"circle": {"lat": cleaned["lat"], "lon": cleaned["lon"],
                                             "radius_m": cleaned["radius_km"] * 1000}}
    elif cleaned["area_kind"] == "polygon":
        where["affected_area"] = cleaned["polygon_shape"]
    return where


def affected_preview(*, principal: Principal, where: dict) -> list[str]:
    """The jurisdictions a report of this place would reach: the report service's own steps."""
    given = contract.report_checked(where, now=timezone.now(), new=False)
    placement = place(reporter=principal.jurisdiction, clusters=principal.clusters, location=given.location,
                      shape=given.shape)
    return affected_codes(reporter=principal.jurisdiction, touched=placement.touched)


def _refusal(exc: ValidationFailed) -> str:
    """The service's reason in the officer's language (its own words are the API's English)."""
    errors = exc.errors or {}
    margin = f"{settings.INCIDENT_LOCATION_MARGIN_KM:g}"
    if "location" in errors:
        return _("The location is outside your cluster by more than %(km)s km.") % {"km": margin}
    if "affected_area" in errors and any("outside your cluster" in m for m in errors["affected_area"]):
        return _("The area is outside your cluster by more than %(km)s km.") % {"km": margin}
    return _("This area cannot be used for a report.")


@require_POST
@officer_view
def preview(request):
    principal = request.principal
    if not principal.can(Action.REPORT_INCIDENT):
        return JsonResponse({"ok": False, "errors": [_("Your role does not allow reporting incidents.")]}, status=403)
    form = ReportForm(request.POST)
    form.is_valid()
    errors = [f"{form.fields[name].label}: {message}" for name in WHERE_FIELDS for message in form.errors.get(name, [])]
    if errors:
        return JsonResponse({"ok": False, "errors": errors})
    try:
        codes = affected_preview(principal=principal, where=_where(form.cleaned_data))
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "errors": [_refusal(exc)]})
    names = [registry.place_name(code) for code in codes]
    joined = ("、" if _zh() else ", ").join(names)
    return JsonResponse({"ok": True, "codes": codes, "names": names,
                         "text": _("Will notify: %(names)s") % {"names": joined}})


urlpatterns = [
    path("places.json", places, name="report-places"),
    path("preview/", preview, name="report-preview"),
]
