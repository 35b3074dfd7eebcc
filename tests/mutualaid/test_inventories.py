"""Inventories: a jurisdiction's stock of one type, recorded through the API (idempotent by
external id), with a ledger of every movement; seen across a border only under an agreement."""

import threading

import pytest
from django.db import connection

from coordination.models import AuditEntry
from sharing import services as sharing_services
from sharing.events import validate_payload
from sharing.mutualaid.models import Inventory, InventoryMovement
from tests.conftest import DONGGUAN, SHENZHEN, ZHONGSHAN, ZHUHAI
from tests.mutualaid.conftest import stock
from tests.mutualaid.support import client_for, events_named

pytestmark = pytest.mark.django_db

URL = "/api/v1/inventories/"
PUMPS = {"resource_type": "drainage_pump", "on_hand": 12,
         "location": {"name": "香洲储备库", "lat": 22.27, "lon": 113.57},
         "contacts": [{"name": "值班室", "phone": "+86 756 000 0000"}], "external_id": "zh-pumps-1"}


def nothing_written():
    return not Inventory.objects.exists() and not InventoryMovement.objects.exists() and not events_named(
        "inventory.created")


# --- recording stock --------------------------------------------------------------------------------


def test_it_records_stock_with_its_ledger_event_and_audit(as_):
    response = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jurisdiction"] == ZHUHAI and body["unit"] == "set"
    assert (body["on_hand"], body["committed"], body["available"]) == (12, 0, 12)
    assert body["location"] == {"name": "香洲储备库", "lat": 22.27, "lon": 113.57}
    (movement,) = InventoryMovement.objects.all()
    assert (movement.kind, movement.quantity, movement.on_hand_after) == ("stocked", 12, 12)
    (event,) = events_named("inventory.created")
    validate_payload(event.name, event.payload)
    assert event.owner == ZHUHAI and event.data_kind == "resources"
    assert AuditEntry.objects.filter(action="inventory.created", object_id=str(body["id"])).exists()


def test_the_same_external_id_again_is_the_same_inventory(as_):
    client = as_(ZHUHAI, role="operator")
    first = client.post(URL, PUMPS, format="json").json()
    again = client.post(URL, PUMPS, format="json")
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert len(events_named("inventory.created")) == 1 and not events_named("inventory.updated")  # a retry

    changed = client.post(URL, {**PUMPS, "on_hand": 9}, format="json")
    assert changed.status_code == 200 and changed.json()["on_hand"] == 9 and changed.json()["version"] == 2
    assert Inventory.objects.count() == 1
    assert [m.kind for m in InventoryMovement.objects.order_by("id")] == ["stocked", "adjusted"]
    assert InventoryMovement.objects.order_by("id").last().on_hand_change == -3
    assert len(events_named("inventory.updated")) == 1


def test_the_external_id_is_per_jurisdiction(as_):
    as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json")
    other = as_(ZHONGSHAN, role="operator").post(URL, PUMPS, format="json")
    assert other.status_code == 201 and other.json()["jurisdiction"] == ZHONGSHAN


def test_stock_without_an_external_id_is_a_new_inventory_each_time(as_):
    client = as_(ZHUHAI, role="operator")
    data = {"resource_type": "sandbag", "on_hand": 100}
    assert client.post(URL, data, format="json").status_code == 201
    assert client.post(URL, data, format="json").status_code == 201
    assert Inventory.objects.count() == 2


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"on_hand": -1}, "on_hand"),
        ({"on_hand": "lots"}, "on_hand"),
        ({"on_hand": 1.5}, "on_hand"),
        ({"on_hand": None}, "on_hand"),
        ({"resource_type": "teleporter"}, "resource_type"),
        ({"unit": "kg"}, "unit"),
        ({"unit": "vessel"}, "unit"),
        ({"location": {"lat": 95, "lon": 113}}, "location.lat"),
        ({"location": {"lat": 22.2}}, "location"),
        ({"location": {"name": "x", "elevation": 3}}, "location.elevation"),
        ({"location": 7}, "location"),
        ({"contacts": [{"phone": "123"}]}, "contacts.0"),
        ({"contacts": "call us"}, "contacts"),
        ({"external_id": "x" * 101}, "external_id"),
        ({"on_hnad": 3}, "on_hnad"),  # a misspelt field is refused, not ignored
    ],
)
def test_bad_stock_is_a_400_naming_the_field_and_nothing_is_written(as_, overrides, field):
    response = as_(ZHUHAI, role="operator").post(URL, {**PUMPS, **overrides}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert nothing_written()


def test_a_patch_of_a_field_that_does_not_change_is_a_400_naming_it(as_):
    client = as_(ZHUHAI, role="operator")
    inventory_id = client.post(URL, PUMPS, format="json").json()["id"]
    response = client.patch(f"{URL}{inventory_id}/", {"resource_type": "generator", "on_hand": 3}, format="json")
    assert response.status_code == 400 and "resource_type" in response.json()["errors"]
    inventory = Inventory.objects.get()
    assert (inventory.resource_type_id, inventory.on_hand) == ("drainage_pump", 12)


def test_an_external_id_does_not_change_an_inventorys_type(as_):
    client = as_(ZHUHAI, role="operator")
    client.post(URL, PUMPS, format="json")
    response = client.post(URL, {**PUMPS, "resource_type": "generator"}, format="json")
    assert response.status_code == 409
    assert Inventory.objects.get().resource_type_id == "drainage_pump"


def test_stock_cannot_go_below_what_is_committed(as_):
    client = as_(ZHUHAI, role="operator")
    inventory_id = client.post(URL, PUMPS, format="json").json()["id"]
    Inventory.objects.filter(pk=inventory_id).update(committed=5)
    response = client.post(URL, {**PUMPS, "on_hand": 4}, format="json")
    assert response.status_code == 409 and response.json()["committed"] == 5
    assert Inventory.objects.get().on_hand == 12


def test_the_database_never_lets_committed_exceed_on_hand(world):
    from django.db import IntegrityError, transaction

    inventory = stock(ZHUHAI, "tent", 3)
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(pk=inventory.pk).update(committed=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(pk=inventory.pk).update(on_hand=-1)


def test_the_ledger_is_append_only(world):
    stock(ZHUHAI, "tent", 3)
    with pytest.raises(PermissionError):
        InventoryMovement.objects.all().update(quantity=1)
    with pytest.raises(PermissionError):
        InventoryMovement.objects.all().delete()


@pytest.mark.parametrize("role, scopes", [("viewer", None), (None, ["read"]), (None, ["incidents:write"])])
def test_callers_without_resources_write_cannot_record_stock(as_, role, scopes):
    response = as_(ZHUHAI, role=role, scopes=scopes).post(URL, PUMPS, format="json")
    assert response.status_code == 403
    assert nothing_written()


# --- changing stock ------------------------------------------------------------------------------------


def test_the_owner_patches_its_stock(as_):
    client = as_(ZHUHAI, role="operator")
    inventory_id = client.post(URL, PUMPS, format="json").json()["id"]
    response = client.patch(f"{URL}{inventory_id}/", {"on_hand": 20, "location": "新仓库"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["on_hand"] == 20 and response.json()["location"]["name"] == "新仓库"
    assert response.json()["location"]["lat"] is None
    assert client.patch(f"{URL}{inventory_id}/", {"on_hand": -2}, format="json").status_code == 400
    assert client.patch(f"{URL}{inventory_id}/", {"unit": "bag"}, format="json").status_code == 400


def test_only_the_owner_changes_stock_and_others_do_not_learn_it_exists(as_, django_capture_on_commit_callbacks):
    inventory_id = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json").json()["id"]
    assert as_(ZHONGSHAN, role="operator").patch(f"{URL}{inventory_id}/", {"on_hand": 1},
                                                 format="json").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.agreement_create(actor=None, grantor=ZHUHAI, grantees=[ZHONGSHAN], data_kinds=["resources"])
    assert as_(ZHONGSHAN, role="commander").patch(f"{URL}{inventory_id}/", {"on_hand": 1},
                                                  format="json").status_code == 403
    assert Inventory.objects.get().on_hand == 12


# --- reading stock -----------------------------------------------------------------------------------------


def test_others_see_stock_only_under_an_agreement_and_contacts_only_when_it_shares_them(
        as_, django_capture_on_commit_callbacks):
    inventory_id = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json").json()["id"]
    zhongshan = as_(ZHONGSHAN, role="viewer")
    assert zhongshan.get(f"{URL}{inventory_id}/").status_code == 404
    assert zhongshan.get(URL).json()["count"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        agreement = sharing_services.agreement_create(actor=None, grantor=ZHUHAI, grantees=[ZHONGSHAN],
                                                      data_kinds=["resources"])
    seen = zhongshan.get(f"{URL}{inventory_id}/").json()
    assert seen["on_hand"] == 12 and "contacts" not in seen  # withheld: absent, not blank
    assert zhongshan.get(URL).json()["results"][0]["id"] == inventory_id

    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.agreement_update(actor=None, agreement=agreement, withheld_fields=[])
    assert zhongshan.get(f"{URL}{inventory_id}/").json()["contacts"] == [{**PUMPS["contacts"][0], "role": ""}]
    assert as_(DONGGUAN, role="viewer").get(f"{URL}{inventory_id}/").status_code == 404


@pytest.mark.parametrize("terms, opens", [
    ({"level_at_least": "III"}, False),  # stock has no level: a level-limited agreement does not open it
    ({"categories": ["natural_disaster"]}, False),  # nor a category-limited one
    ({"level_at_least": "IV"}, True),  # "at least IV" is every level
])
def test_the_list_and_the_detail_agree_on_agreements_limited_by_level_or_category(
        as_, django_capture_on_commit_callbacks, terms, opens):
    inventory_id = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        sharing_services.agreement_create(actor=None, grantor=ZHUHAI, grantees=[ZHONGSHAN], data_kinds=["resources"],
                                          **terms)
    zhongshan = as_(ZHONGSHAN, role="viewer")
    listed = zhongshan.get(URL).json()
    assert (zhongshan.get(f"{URL}{inventory_id}/").status_code == 200) is opens
    assert listed["count"] == len(listed["results"]) == (1 if opens else 0)


def test_a_coordinator_sees_the_clusters_stock_without_contacts(as_):
    inventory_id = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json").json()["id"]
    seen = as_(SHENZHEN, role="coordinator").get(f"{URL}{inventory_id}/")
    assert seen.status_code == 200 and "contacts" not in seen.json()
    assert as_(SHENZHEN, role="commander").get(f"{URL}{inventory_id}/").status_code == 404


def test_every_cross_border_read_is_audited_and_own_reads_are_not(as_):
    inventory_id = as_(ZHUHAI, role="operator").post(URL, PUMPS, format="json").json()["id"]
    as_(ZHUHAI, role="viewer").get(f"{URL}{inventory_id}/")
    as_(ZHUHAI, role="viewer").get(URL)
    assert not AuditEntry.objects.filter(action__in=["inventory.viewed", "inventory.listed"]).exists()
    coordinator = as_(SHENZHEN, role="coordinator")
    coordinator.get(f"{URL}{inventory_id}/")
    coordinator.get(URL)
    coordinator.get(f"{URL}{inventory_id}/movements/")
    viewed = AuditEntry.objects.get(action="inventory.viewed")
    assert (viewed.actor_jurisdiction, viewed.object_jurisdiction, viewed.object_id) == (SHENZHEN, ZHUHAI,
                                                                                          str(inventory_id))
    assert AuditEntry.objects.get(action="inventory.listed").detail == {"ids": [inventory_id], "owners": [ZHUHAI]}
    assert AuditEntry.objects.filter(action="inventory.ledger_viewed").exists()


def test_the_list_filters(as_):
    stock(ZHUHAI, "drainage_pump", 12)
    stock(ZHUHAI, "sandbag", 500)
    busy = stock(ZHUHAI, "generator", 4)
    Inventory.objects.filter(pk=busy.pk).update(committed=4)
    client = as_(ZHUHAI, role="viewer")

    def codes(query):
        response = client.get(URL + query)
        assert response.status_code == 200, response.content
        return sorted(item["resource_type"] for item in response.json()["results"])

    assert codes("?kind=supply") == ["sandbag"]
    assert codes("?resource_type=drainage_pump") == ["drainage_pump"]
    assert codes("?available_at_least=1") == ["drainage_pump", "sandbag"]
    assert codes(f"?jurisdiction={ZHONGSHAN}") == []
    assert codes("?updated_since=2000-01-01T00:00:00Z") == ["drainage_pump", "generator", "sandbag"]
    assert client.get(URL + "?available_at_least=-1").status_code == 400
    assert client.get(URL + "?updated_since=yesterday").status_code == 400


def test_the_list_takes_a_constant_number_of_queries(as_, django_assert_num_queries):
    for n in range(6):
        stock(ZHUHAI, "tent", 10 + n)
    own, coordinator = as_(ZHUHAI, role="viewer"), as_(SHENZHEN, role="coordinator")
    own.get(URL)
    coordinator.get(URL)
    for size in (2, 6):
        with django_assert_num_queries(2):  # count, page
            assert own.get(f"{URL}?page_size={size}").status_code == 200
        with django_assert_num_queries(3):  # count, page, the audit entry of the cross-border read
            assert coordinator.get(f"{URL}?page_size={size}").status_code == 200


def test_the_ledger_reads_oldest_first(as_):
    client = as_(ZHUHAI, role="operator")
    inventory_id = client.post(URL, PUMPS, format="json").json()["id"]
    client.post(URL, {**PUMPS, "on_hand": 15}, format="json")
    movements = client.get(f"{URL}{inventory_id}/movements/").json()["results"]
    assert [(m["kind"], m["on_hand_change"], m["on_hand_after"]) for m in movements] == [
        ("stocked", 12, 12), ("adjusted", 3, 15)]
    assert as_(ZHONGSHAN, role="viewer").get(f"{URL}{inventory_id}/movements/").status_code == 404


# --- idempotency under concurrency ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_make_one_inventory(postgres, world):
    clients = [client_for(ZHUHAI, role="operator") for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    statuses, errors = [], []

    def post(client):
        try:
            barrier.wait()
            statuses.append(client.post(URL, PUMPS, format="json").status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(statuses) == [200] * 5 + [201]
    assert Inventory.objects.count() == 1
    assert InventoryMovement.objects.count() == 1
    assert len(events_named("inventory.created")) == 1
