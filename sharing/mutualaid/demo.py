"""Demo data for `manage.py load_demo`: the resource catalogue and a few inventories per GBA
city (data/demo_inventories.json), each at the city's emergency reserve depot.

Idempotent: the catalogue is upserted and each demo inventory has a stable external id, so a
second run writes nothing. Stock that mutual aid has since committed is left as it is.
"""

import json
from pathlib import Path

from config.errors import Conflict
from coordination.demo import LoadSummary, stored_name
from coordination.models import Jurisdiction
from sharing.mutualaid.catalogue import load_catalogue
from sharing.mutualaid.models import ResourceType
from sharing.mutualaid.services.inventories import inventory_upsert

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo_inventories.json"

# A demo depot's name in each language, by its city's name in that language. The row keeps one
# name, "Chinese (English)" (what a search matches either way); ui.registry.depot_name reads it
# back in the officer's language, Traditional for Hong Kong and Macao (深圳市應急物資儲備庫).
DEPOT_NAME = {"zh-hans": "{city}应急物资储备库", "zh-hant": "{city}應急物資儲備庫",
              "en": "{city} emergency reserve depot"}


def depot_name(name_zh: str, name_en: str) -> str:
    """The name a demo depot is stored under."""
    return stored_name(DEPOT_NAME, name_zh, name_en)


def load_demo_stock(summary: LoadSummary) -> LoadSummary:
    created, _ = load_catalogue(ResourceType)
    summary.created["resource types"] = summary.created.get("resource types", 0) + created
    kept = ResourceType.objects.count() - created
    summary.updated["resource types"] = summary.updated.get("resource types", 0) + kept
    stock = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    cities = Jurisdiction.objects.in_bulk(list(stock))
    for code, holdings in stock.items():
        city = cities[code]
        depot = {"name": depot_name(city.name_zh, city.name_en),
                 "lat": city.centroid_lat, "lon": city.centroid_lon}
        for resource_type, on_hand in holdings.items():
            data = {"resource_type": resource_type, "on_hand": on_hand, "location": depot,
                    "external_id": f"demo:{resource_type}"}
            try:
                outcome = inventory_upsert(actor=None, jurisdiction=code, data=data, note="demo data")
            except Conflict:
                summary.count("demo inventories", False)  # committed to mutual aid since: kept
            else:
                summary.count("demo inventories", outcome.created)
    return summary
