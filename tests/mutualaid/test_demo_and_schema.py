"""load_demo brings the catalogue and a few inventories per city, and is safe to run twice; the
OpenAPI schema describes what the mutual-aid endpoints answer; the admin only shows."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from sharing.mutualaid.api import serializers
from sharing.mutualaid.models import Inventory, InventoryMovement
from tests.conftest import GBA_CODES, JIANGMEN, ZHONGSHAN, ZHUHAI

pytestmark = pytest.mark.django_db


def test_load_demo_stocks_every_city_and_a_second_run_writes_nothing(world):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "demo inventories: " in out.getvalue() and "resource types: " in out.getvalue()
    assert set(Inventory.objects.values_list("jurisdiction_id", flat=True)) == set(GBA_CODES)
    assert Inventory.objects.filter(jurisdiction_id=ZHONGSHAN, resource_type_id="drainage_pump").exists()
    assert Inventory.objects.filter(jurisdiction_id=JIANGMEN, resource_type_id="drainage_pump").exists()
    counts = (Inventory.objects.count(), InventoryMovement.objects.count())
    again = io.StringIO()
    call_command("load_demo", stdout=again)
    assert (Inventory.objects.count(), InventoryMovement.objects.count()) == counts
    assert "demo inventories: 0 created" in again.getvalue()


def test_the_schema_names_the_mutual_aid_paths_and_their_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path in ("/api/v1/resource-types/", "/api/v1/inventories/", "/api/v1/inventories/{id}/movements/",
                 "/api/v1/resource-requests/", "/api/v1/resource-requests/{id}/offers/",
                 "/api/v1/resource-requests/{id}/offers/{offer_id}/accept/",
                 "/api/v1/resource-requests/{id}/dispatch/", "/api/v1/resource-requests/{id}/return/",
                 "/api/v1/resource-requests/{id}/cancel/", "/api/v1/resource-requests/{id}/edxl-rm/",
                 "/api/v1/sharing-agreements/", "/api/v1/sharing-agreements/{id}/"):
        assert path in paths, path
    assert "application/xml" in paths["/api/v1/resource-requests/{id}/edxl-rm/"]["get"]["responses"]["200"]["content"]
    created = paths["/api/v1/resource-requests/"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"]["$ref"].endswith("/ResourceRequest")


def test_the_documented_answers_are_the_answers(filled_request):
    """The output serializers (the schema) list exactly the keys the API answers with."""
    request_body, inventory_body = filled_request
    assert set(serializers.ResourceRequestOutput().fields) == set(request_body)
    assert set(serializers.OfferOutput().fields) == set(request_body["offers"][0])
    assert set(serializers.ReimbursementOutput().fields) == set(request_body["offers"][0]["reimbursement"])
    assert set(serializers.InventoryOutput().fields) == set(inventory_body)


@pytest.fixture
def filled_request(zhuhai_flood, as_):
    from tests.mutualaid.conftest import needed_by

    zhuhai = as_(ZHUHAI)
    request_id = zhuhai.post("/api/v1/resource-requests/", {
        "incident": zhuhai_flood.public_id, "resource_type": "drainage_pump", "quantity": 2,
        "needed_by": needed_by()}, format="json").json()["id"]
    offer_id = as_(ZHONGSHAN).post(f"/api/v1/resource-requests/{request_id}/offers/", {"quantity": 2},
                                   format="json").json()["id"]
    zhuhai.post(f"/api/v1/resource-requests/{request_id}/offers/{offer_id}/accept/", format="json")
    inventory = Inventory.objects.get(jurisdiction_id=ZHONGSHAN)
    return (zhuhai.get(f"/api/v1/resource-requests/{request_id}/").json(),
            as_(ZHONGSHAN).get(f"/api/v1/inventories/{inventory.pk}/").json())


def test_the_admin_shows_stock_and_requests_but_changes_nothing(client, filled_request):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw-Secret-123"))
    inventory = Inventory.objects.get(jurisdiction_id=ZHONGSHAN)
    assert client.get("/admin/mutualaid/inventory/").status_code == 200
    assert client.get(f"/admin/mutualaid/inventory/{inventory.pk}/change/").status_code == 200
    assert client.get("/admin/mutualaid/resourcerequest/").status_code == 200
    assert client.get("/admin/mutualaid/inventory/add/").status_code == 403
    response = client.post(f"/admin/mutualaid/inventory/{inventory.pk}/change/", {"on_hand": 99})
    assert response.status_code == 403
    assert Inventory.objects.get(pk=inventory.pk).on_hand == 10
