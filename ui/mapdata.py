"""What the map draws: the cluster's boundaries (registry data, public within the cluster) and
the incidents the officer may see, as the incidents' selector gives them (visibility applied,
withheld fields removed). A boundary takes the colour of the most severe open, real incident
that affects it; drills are drawn, marked as such, but never colour a city."""

from collections.abc import Iterable

from django.urls import reverse

from coordination.principals import Principal
from coordination.selectors import jurisdiction_list
from incidents import selectors as incident_selectors
from incidents.lifecycle import OPEN_STATUSES
from sharing.models import LEVEL_RANK
from ui import labels


def boundaries(*, clusters: Iterable[str]) -> dict:
    """A GeoJSON FeatureCollection of the clusters' jurisdictions that have a boundary."""
    rows = (jurisdiction_list().defer(None).filter(clusters__code__in=list(clusters), boundary__isnull=False)
            .distinct().order_by("code"))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": row.boundary,
                "properties": {"code": row.code, "name_zh": row.name_zh, "name_en": row.name_en,
                               "centroid": [row.centroid_lat, row.centroid_lon]
                               if row.centroid_lat is not None else None},
            }
            for row in rows
        ],
    }


def incident_feature(data: dict) -> dict:
    """One incident for the map, from the selector's data (already redacted for the viewer)."""
    return {
        "id": data["id"],
        "title": data["title"],
        "level": data["level"],
        "level_label": str(labels.LEVEL_LABELS[data["level"]]),
        "category": labels.category_label(data["category"]),
        "type": labels.type_label(data["category"], data["type"]),
        "status": data["status"],
        "exercise": data["exercise"],
        "location": data["location"],
        "area": data.get("affected_area"),
        "affected": data["affected_jurisdictions"],
        "url": reverse("ui:incident", args=[data["id"]]),
    }


def most_severe_by_jurisdiction(items: Iterable[dict]) -> dict[str, str]:
    levels: dict[str, str] = {}
    for item in items:
        if item["exercise"] or item["status"] not in OPEN_STATUSES:
            continue
        for code in item["affected_jurisdictions"]:
            current = levels.get(code)
            if current is None or LEVEL_RANK[item["level"]] < LEVEL_RANK[current]:
                levels[code] = item["level"]
    return levels


def open_incidents(*, principal: Principal) -> list[dict]:
    """The open incidents the principal may see, as data (reading them is audited as the API's
    list is: one entry naming the other jurisdictions' incidents)."""
    incidents = incident_selectors.incident_list_visible_to(principal=principal).filter(status__in=OPEN_STATUSES)
    return incident_selectors.incidents_read_by(principal=principal, incidents=list(incidents))


def incident_layer(items: list[dict]) -> dict:
    return {
        "incidents": [incident_feature(item) for item in items],
        "levels": most_severe_by_jurisdiction(items),
        # Short ones for the names on the map ("东莞市 · Ⅱ级"); the legend and popups say the rest.
        "level_labels": {level: str(label) for level, label in labels.LEVEL_SHORT.items()},
    }
