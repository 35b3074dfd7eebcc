"""Fixtures of the mutual-aid tests: the catalogue, stock, incidents to ask aid for, personas.

The catalogue comes from a data migration, but tests that run in real transactions empty the
tables afterwards, so the `catalogue` fixture loads it again (idempotently).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.mutualaid.catalogue import load_catalogue
from sharing.mutualaid.models import ResourceType
from tests.conftest import JIANGMEN, ZHONGSHAN, ZHUHAI
from tests.mutualaid.support import client_for, principal

CENTROIDS = {
    "440100": (23.35, 113.54), "440300": (22.65, 114.12), "440400": (22.18, 113.37), "440600": (23.02, 112.95),
    "440700": (22.3, 112.66), "441200": (23.55, 112.2), "441300": (23.25, 114.55), "441900": (22.93, 113.88),
    "442000": (22.52, 113.39), "810000": (22.39, 114.12), "820000": (22.165, 113.552),
}


@pytest.fixture
def catalogue(db):
    load_catalogue(ResourceType)


@pytest.fixture
def world(gba, catalogue):
    """The demo registry and the catalogue."""
    return gba


def stock(jurisdiction: str, resource_type: str, on_hand: int, *, external_id: str | None = None, **extra):
    from sharing.mutualaid.services.inventories import inventory_upsert

    data = {"resource_type": resource_type, "on_hand": on_hand, "external_id": external_id, **extra}
    return inventory_upsert(actor=None, jurisdiction=jurisdiction, data=data).inventory


def report_incident(jurisdiction: str = ZHUHAI, *, level: str = "III", category: str = "natural_disaster",
                    type_: str = "flood", exercise: bool = False):
    from incidents.services import incident_report

    lat, lon = CENTROIDS[jurisdiction]
    outcome = incident_report(actor=principal(jurisdiction, role="operator"), data={
        "title": f"Flooding in {jurisdiction}", "category": category, "type": type_, "level": level,
        "occurred_at": timezone.now() - timedelta(hours=1), "location": {"lat": lat, "lon": lon},
        "exercise": exercise,
    })
    return outcome.incident


def needed_by(hours: int = 6) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


@pytest.fixture
def zhuhai_flood(world):
    """A level III flood in Zhuhai, with pumps in stock at Zhongshan and Jiangmen (its neighbours)."""
    stock(ZHONGSHAN, "drainage_pump", 10, external_id="zs-pumps")
    stock(JIANGMEN, "drainage_pump", 6, external_id="jm-pumps")
    return report_incident(ZHUHAI)


@pytest.fixture
def as_(world):
    """as_(code, role) -> an API client; cached per (code, role) within a test."""
    cache = {}

    def make(jurisdiction: str, role: str | None = "commander", scopes=None):
        key = (jurisdiction, role, tuple(scopes or ()))
        if key not in cache:
            cache[key] = client_for(jurisdiction, role=role, scopes=scopes)
        return cache[key]

    return make
