"""The resource catalogue is data: every type the issue names, with Chinese and English names,
a kind and a unit; loading it twice writes nothing."""

import pytest

from sharing.mutualaid.catalogue import ResourceKind, load_catalogue, units
from sharing.mutualaid.models import ResourceType
from tests.conftest import SHENZHEN

pytestmark = pytest.mark.django_db

EXPECTED = {
    "team": {"search_rescue_team", "firefighting_team", "medical_team", "hazmat_team", "epidemiology_team"},
    "equipment": {"drainage_pump", "generator", "rescue_boat", "ambulance", "drone"},
    "supply": {"sandbag", "tent", "mask", "drinking_water"},
    "facility": {"shelter", "hospital_bed"},
}


def test_it_lists_the_catalogue_with_names_kinds_and_units(as_):
    response = as_(SHENZHEN, role="viewer").get("/api/v1/resource-types/?page_size=100")
    assert response.status_code == 200
    types = response.json()["results"]
    by_kind = {}
    for item in types:
        by_kind.setdefault(item["kind"], set()).add(item["code"])
        assert item["name_zh"] and item["name_en"] and item["unit_zh"] and item["unit_en"]
    assert by_kind == EXPECTED
    sandbag = next(item for item in types if item["code"] == "sandbag")
    assert sandbag == {"code": "sandbag", "kind": "supply", "name_zh": "沙袋", "name_en": "Sandbag", "unit": "bag",
                       "unit_zh": "袋", "unit_en": "bag", "consumable": True}


def test_it_filters_by_kind_and_shows_one_type(as_):
    client = as_(SHENZHEN, role="viewer")
    facilities = client.get("/api/v1/resource-types/?kind=facility").json()["results"]
    assert {item["code"] for item in facilities} == EXPECTED["facility"]
    assert client.get("/api/v1/resource-types/ambulance/").json()["unit"] == "vehicle"
    assert client.get("/api/v1/resource-types/teleporter/").status_code == 404
    assert client.get("/api/v1/resource-types/?kind=magic").status_code == 400


def test_every_type_is_counted_in_a_known_unit_and_has_a_known_kind(catalogue):
    for rtype in ResourceType.objects.all():
        assert rtype.unit in units()
        assert rtype.kind in ResourceKind.values


def test_loading_the_catalogue_again_writes_nothing(catalogue):
    assert load_catalogue(ResourceType) == (0, 0)
    ResourceType.objects.filter(code="tent").update(name_en="Old tent")
    assert load_catalogue(ResourceType) == (0, 1)
    assert ResourceType.objects.get(code="tent").name_en == "Tent"
