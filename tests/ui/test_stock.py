"""Issue 19: an officer records and corrects its own jurisdiction's stock on the resources page,
through the same inventory service as the API and the CSV import (same permission, same audit,
same ledger), with the service's limits and errors next to the field in the officer's language."""

import re

import pytest

from coordination.models import AuditEntry
from sharing.mutualaid.contract import MAX_QUANTITY, PLACE_NAME_MAX_LENGTH
from sharing.mutualaid.models import Inventory, MovementKind
from tests.conftest import DONGGUAN, HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db


def record(client, **fields):
    return client.post("/resources/stock/", {f"record-{key}": value for key, value in fields.items()})


def correct(client, inventory, **fields):
    return client.post(f"/resources/stock/{inventory.pk}/",
                       {f"stock-{inventory.pk}-{key}": value for key, value in fields.items()})


def test_hong_kong_records_its_pumps_and_corrects_them_with_the_audit_and_ledger_of_the_api(browse_as):
    hong_kong = browse_as(HONG_KONG, "operator")
    html = hong_kong.get("/resources/").content.decode()
    # The unit is a word of the reader's language beside the type, the limits those of the service.
    assert '<option value="drainage_pump">排涝泵（台）</option>' in html
    assert f'max="{MAX_QUANTITY}"' in html and f'maxlength="{PLACE_NAME_MAX_LENGTH}"' in html

    response = record(hong_kong, resource_type="drainage_pump", on_hand="12", location="青衣应急仓库")
    assert response.status_code == 302
    inventory = Inventory.objects.get(jurisdiction_id=HONG_KONG, resource_type_id="drainage_pump")
    assert (inventory.on_hand, inventory.location_name) == (12, "青衣应急仓库")
    created = AuditEntry.objects.get(action="inventory.created", object_id=str(inventory.pk))
    assert created.actor_jurisdiction == HONG_KONG and created.user == hong_kong.user
    assert list(inventory.movements.values_list("kind", "on_hand_change")) == [(MovementKind.STOCKED, 12)]

    page = hong_kong.get("/resources/").content.decode()
    assert f'action="/resources/stock/{inventory.pk}/"' in page and 'value="青衣应急仓库"' in page
    response = correct(hong_kong, inventory, on_hand="9", location="青衣应急仓库")
    assert response.status_code == 302
    inventory.refresh_from_db()
    assert inventory.on_hand == 9 and inventory.location_name == "青衣应急仓库"
    updated = AuditEntry.objects.get(action="inventory.updated", object_id=str(inventory.pk))
    assert updated.detail == {"changed": ["on_hand"]} and updated.actor_jurisdiction == HONG_KONG
    assert list(inventory.movements.order_by("id").values_list("kind", "on_hand_change")) == [
        (MovementKind.STOCKED, 12), (MovementKind.ADJUSTED, -3)]


@pytest.mark.parametrize("language, words", [
    ("zh-hans", ("请更正以下问题", "确保该值大于或等于0")),
    ("en", ("Please correct the following", "Ensure this value is greater than or equal to 0")),
])
def test_a_bad_quantity_is_answered_next_to_its_field_and_in_a_summary(browse_as, language, words):
    client = browse_as(HONG_KONG, "operator", language=language)
    response = record(client, resource_type="drainage_pump", on_hand="-1")
    html = response.content.decode()
    assert response.status_code == 400 and not Inventory.objects.filter(jurisdiction_id=HONG_KONG).exists()
    summary, _, rest = html.partition('class="error-summary"')[2].partition("</div>")
    assert words[0] in summary and words[1] in summary and 'href="#id_record-on_hand"' in summary
    assert re.search(r'id="id_record-on_hand_error"[^>]*>\s*<li>' + re.escape(words[1]), html)


@pytest.mark.parametrize("language, words", [
    ("zh-hans", "已有 4 件此库存承诺用于互助，现有数量不能低于该数。"),
    ("en", "4 of this stock are committed to mutual aid; the quantity on hand cannot go below that."),
])
def test_what_the_service_refuses_is_said_next_to_the_field_in_the_officers_language(browse_as, language, words):
    from sharing.mutualaid.services.inventories import inventory_upsert

    inventory = inventory_upsert(actor=None, jurisdiction=SHENZHEN,
                                 data={"resource_type": "rescue_boat", "on_hand": 6}).inventory
    Inventory.objects.filter(pk=inventory.pk).update(committed=4)
    client = browse_as(SHENZHEN, "operator", language=language)
    response = correct(client, inventory, on_hand="2", location="")
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(rf'id="id_stock-{inventory.pk}-on_hand_error"[^>]*>\s*<li>' + re.escape(words), html)
    inventory.refresh_from_db()
    assert inventory.on_hand == 6 and not AuditEntry.objects.filter(action="inventory.updated").exists()


def test_a_viewer_gets_no_stock_form_and_the_service_refuses_it(browse_as):
    viewer = browse_as(HONG_KONG, "viewer")
    html = viewer.get("/resources/").content.decode()
    assert 'action="/resources/stock/"' not in html and 'id="our-stock"' not in html
    assert record(viewer, resource_type="drainage_pump", on_hand="5").status_code == 403
    assert not Inventory.objects.filter(jurisdiction_id=HONG_KONG).exists()


def test_nobody_corrects_another_jurisdictions_stock(browse_as, gba):
    from sharing.mutualaid.services.inventories import inventory_upsert

    boats = inventory_upsert(actor=None, jurisdiction=DONGGUAN,
                             data={"resource_type": "rescue_boat", "on_hand": 6}).inventory
    shenzhen = browse_as(SHENZHEN, "operator")
    assert f'action="/resources/stock/{boats.pk}/"' not in shenzhen.get("/resources/").content.decode()
    assert correct(shenzhen, boats, on_hand="0", location="").status_code in (403, 404)
    boats.refresh_from_db()
    assert boats.on_hand == 6
