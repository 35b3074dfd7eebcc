"""Mutual-aid requests along their lifecycle: asked, sent to the eligible jurisdictions, offered,
accepted (committed from the offerer's stock), dispatched, arrived, released, returned, or
cancelled while nothing has left; each move an event, a timeline entry, a ledger row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.models import AuditEntry
from incidents.models import TimelineEntry
from sharing.events import validate_payload
from sharing.models import Event
from sharing.mutualaid.models import Inventory, InventoryMovement, Offer, RequestMessage, ResourceRequest
from tests.conftest import (
    DONGGUAN,
    GBA_CODES,
    GUANGZHOU,
    HONG_KONG,
    JIANGMEN,
    MACAO,
    SHENZHEN,
    ZHONGSHAN,
    ZHUHAI,
)
from tests.mutualaid.conftest import needed_by, report_incident, stock

pytestmark = pytest.mark.django_db

URL = "/api/v1/resource-requests/"
ZHUHAI_NEIGHBOURS = [JIANGMEN, ZHONGSHAN, MACAO]


def ask(client, about, **overrides):
    body = {"incident": about.public_id, "resource_type": "drainage_pump", "quantity": 8, "needed_by": needed_by(),
            **overrides}
    return client.post(URL, body, format="json")


def offer(client, request_id, quantity, **extra):
    return client.post(f"{URL}{request_id}/offers/", {"quantity": quantity, **extra}, format="json")


def accept(client, request_id, offer_id, **body):
    return client.post(f"{URL}{request_id}/offers/{offer_id}/accept/", body, format="json")


def act(client, request_id, action, **body):
    return client.post(f"{URL}{request_id}/{action}/", body, format="json")


def events(name_prefix="resource_request."):
    return list(Event.objects.filter(name__startswith=name_prefix).order_by("id"))


@pytest.fixture
def filled(zhuhai_flood, as_):
    """Zhuhai asks for 8 pumps; Zhongshan offers 5 and Jiangmen 3; Zhuhai accepts both."""
    zhuhai = as_(ZHUHAI)
    request_id = ask(zhuhai, zhuhai_flood).json()["id"]
    zs = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    jm = offer(as_(JIANGMEN), request_id, 3).json()["id"]
    assert accept(zhuhai, request_id, zs).status_code == 200
    assert accept(zhuhai, request_id, jm).status_code == 200
    return request_id, zs, jm


# --- asking ----------------------------------------------------------------------------------------------


def test_a_request_goes_to_the_neighbours_first(zhuhai_flood, as_):
    response = ask(as_(ZHUHAI, role="operator"), zhuhai_flood, description="Xiangzhou underpasses flooded",
                   contacts=[{"name": "珠海应急局值班室", "phone": "0756-000"}])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["reach"] == "neighbours"
    assert body["recipients"] == sorted(ZHUHAI_NEIGHBOURS)
    assert (body["quantity"], body["remaining"], body["unit"], body["incident"]) == (8, 8, "set",
                                                                                      zhuhai_flood.public_id)
    # The incident's place, without its title for a name (tests/attack/test_mutual_aid_disclosure.py).
    assert body["location"] == {"name": "", "lat": 22.18, "lon": 113.37}
    (event,) = events()
    validate_payload(event.name, event.payload)
    assert event.name == "resource_request.created" and set(event.jurisdiction_codes) == {ZHUHAI,
                                                                                        *ZHUHAI_NEIGHBOURS}
    assert TimelineEntry.objects.filter(incident=zhuhai_flood, text__contains="asks for mutual aid").exists()
    assert RequestMessage.objects.get().message_type == "RequestResource"
    assert AuditEntry.objects.filter(action="resource_request.created").exists()


def test_a_severe_incident_goes_to_the_whole_cluster_at_once(world, as_):
    stock(ZHONGSHAN, "drainage_pump", 10)
    incident = report_incident(ZHUHAI, level="II")
    body = ask(as_(ZHUHAI), incident).json()
    assert body["reach"] == "cluster" and body["recipients"] == sorted(set(GBA_CODES) - {ZHUHAI})


def test_when_no_neighbour_holds_the_type_the_whole_cluster_is_asked(world, as_):
    stock(GUANGZHOU, "hazmat_team", 3)
    body = ask(as_(ZHUHAI), report_incident(ZHUHAI), resource_type="hazmat_team", quantity=1).json()
    assert body["reach"] == "cluster" and GUANGZHOU in body["recipients"]


def test_the_requester_widens_a_request_to_the_cluster(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    assert offer(as_(GUANGZHOU), request_id, 1).status_code == 404  # not asked: does not see it
    response = act(as_(ZHUHAI), request_id, "widen")
    assert response.status_code == 200 and response.json()["reach"] == "cluster"
    assert response.json()["recipients"] == sorted(set(GBA_CODES) - {ZHUHAI})
    assert act(as_(ZHUHAI), request_id, "widen").status_code == 409
    assert act(as_(ZHONGSHAN), request_id, "widen").status_code == 403
    assert events()[-1].name == "resource_request.widened"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
        ({"quantity": "eight"}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"resource_type": "teleporter"}, "resource_type"),
        ({"unit": "litre"}, "unit"),
        ({"unit": "bag"}, "unit"),
        ({"needed_by": "2020-01-01T00:00:00+08:00"}, "needed_by"),
        ({"needed_by": "soon"}, "needed_by"),
        ({"incident": "INC-1999-000001"}, "incident"),
        ({"location": {"lat": 22.2, "lon": 250}}, "location.lon"),
        ({"contacts": [{"name": ""}]}, "contacts.0"),
        ({"needed_before": "2026-08-01T00:00:00+08:00"}, "needed_before"),  # unknown: refused, not ignored
    ],
)
def test_bad_requests_are_a_400_naming_the_cause_and_nothing_is_written(zhuhai_flood, as_, overrides, field):
    response = ask(as_(ZHUHAI), zhuhai_flood, **overrides)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not ResourceRequest.objects.exists() and not events()


def test_only_a_jurisdiction_the_incident_affects_asks_for_aid_for_it(zhuhai_flood, as_):
    response = ask(as_(SHENZHEN, role="coordinator"), zhuhai_flood)  # sees it, is not affected
    assert response.status_code == 403
    assert ask(as_(DONGGUAN), zhuhai_flood).status_code == 400  # may not even see a level III in Zhuhai
    assert ask(as_(ZHUHAI, role="viewer"), zhuhai_flood).status_code == 403
    assert not ResourceRequest.objects.exists()


def test_no_aid_is_asked_for_a_closed_incident(zhuhai_flood, as_):
    type(zhuhai_flood).objects.filter(pk=zhuhai_flood.pk).update(status="closed")
    assert ask(as_(ZHUHAI), zhuhai_flood).status_code == 409


# --- offering ---------------------------------------------------------------------------------------------


def test_neighbours_offer_all_or_part(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    response = offer(as_(ZHONGSHAN, role="operator"), request_id, 5, note="from Shiqi depot")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "offered" and body["jurisdiction"] == ZHONGSHAN and body["quantity"] == 5
    assert body["reimbursement"] is None
    assert offer(as_(JIANGMEN), request_id, 3).status_code == 201
    (made, *_) = [e for e in events() if e.name == "resource_request.offered"]
    validate_payload(made.name, made.payload)
    assert made.owner == ZHONGSHAN and made.jurisdiction_codes == sorted([ZHONGSHAN, ZHUHAI])
    assert Inventory.objects.get(jurisdiction_id=ZHONGSHAN).committed == 0  # an offer reserves nothing yet


def test_the_requester_sees_every_offer_and_each_offerer_only_its_own(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    offer(as_(ZHONGSHAN), request_id, 5)
    offer(as_(JIANGMEN), request_id, 3)
    assert {o["jurisdiction"] for o in as_(ZHUHAI).get(f"{URL}{request_id}/").json()["offers"]} == {ZHONGSHAN,
                                                                                                   JIANGMEN}
    page = as_(JIANGMEN).get(f"{URL}{request_id}/offers/").json()  # a page, as every list
    assert page["count"] == 1 and [o["jurisdiction"] for o in page["results"]] == [JIANGMEN]
    assert as_(MACAO).get(f"{URL}{request_id}/").json()["offers"] == []


@pytest.mark.parametrize(
    "who, quantity, status, field",
    [
        (ZHONGSHAN, 0, 400, "quantity"),
        (ZHONGSHAN, -1, 400, "quantity"),
        (ZHONGSHAN, "five", 400, "quantity"),
        (ZHONGSHAN, 11, 409, None),  # more than Zhongshan has available
        (ZHONGSHAN, 9, 409, None),  # more than the 8 still needed
        (MACAO, 1, 409, None),  # asked, but holds no pumps
        (ZHUHAI, 1, 400, "jurisdiction"),  # its own request
    ],
)
def test_bad_offers_are_refused_naming_the_cause(zhuhai_flood, as_, who, quantity, status, field):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    stock(ZHUHAI, "drainage_pump", 3)
    response = offer(as_(who), request_id, quantity)
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()["errors"]
    assert not Offer.objects.exists()


def test_an_offer_names_one_of_its_own_inventories(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    second = stock(ZHONGSHAN, "drainage_pump", 2, location={"name": "Tanzhou"})
    jiangmen = Inventory.objects.get(jurisdiction_id=JIANGMEN)
    assert offer(as_(ZHONGSHAN), request_id, 2, inventory=second.pk).json()["inventory"] == second.pk
    refused = offer(as_(ZHONGSHAN), request_id, 2, inventory=jiangmen.pk)
    assert refused.status_code == 400 and "inventory" in refused.json()["errors"]


def test_jurisdictions_not_asked_cannot_offer(zhuhai_flood, as_, django_capture_on_commit_callbacks):
    from sharing.services import agreement_create

    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    stock(HONG_KONG, "drainage_pump", 4)
    assert offer(as_(HONG_KONG), request_id, 1).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        agreement_create(actor=None, grantor=ZHUHAI, grantees=[HONG_KONG], data_kinds=["resources"])
    assert offer(as_(HONG_KONG), request_id, 1).status_code == 403  # sees it now, was not asked


# --- accepting -------------------------------------------------------------------------------------------


def test_accepting_commits_from_the_offerers_stock(zhuhai_flood, as_):
    zhuhai = as_(ZHUHAI)
    request_id = ask(zhuhai, zhuhai_flood).json()["id"]
    offer_id = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    response = accept(zhuhai, request_id, offer_id, quantity=4)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "committed" and response.json()["committed_quantity"] == 4
    assert response.json()["reimbursement"]["status"] == "none"
    inventory = Inventory.objects.get(jurisdiction_id=ZHONGSHAN)
    assert (inventory.on_hand, inventory.committed, inventory.available) == (10, 4, 6)
    movement = InventoryMovement.objects.get(kind="committed")
    assert (movement.quantity, movement.committed_change, movement.offer_id) == (4, 4, offer_id)
    request = zhuhai.get(f"{URL}{request_id}/").json()
    assert (request["accepted_quantity"], request["remaining"], request["status"]) == (4, 4, "open")
    event = Event.objects.get(name="resource_request.committed")
    validate_payload(event.name, event.payload)
    assert event.owner == ZHONGSHAN and event.payload["remaining"] == 4
    assert [m.message_type for m in RequestMessage.objects.order_by("id")] == [
        "RequestResource", "ResponseToRequestResource", "CommitResource"]


def test_a_request_is_committed_once_every_unit_is(filled, as_):
    request_id, *_ = filled
    body = as_(ZHUHAI).get(f"{URL}{request_id}/").json()
    assert (body["status"], body["remaining"], body["accepted_quantity"]) == ("committed", 0, 8)
    assert offer(as_(MACAO), request_id, 1).status_code == 409  # nothing more is needed


@pytest.mark.parametrize(
    "who, quantity, status",
    [
        (ZHUHAI, 6, 400),  # more than offered
        (ZHUHAI, 0, 400),
        (ZHUHAI, -2, 400),
        ((ZHUHAI, "operator"), None, 403),  # accepting is the commander's
        (ZHONGSHAN, None, 403),  # an offerer does not accept its own offer
    ],
)
def test_bad_acceptances_are_refused_and_nothing_is_committed(zhuhai_flood, as_, who, quantity, status):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    offer_id = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    code, role = who if isinstance(who, tuple) else (who, "commander")
    body = {} if quantity is None else {"quantity": quantity}
    assert accept(as_(code, role=role), request_id, offer_id, **body).status_code == status
    assert Inventory.objects.get(jurisdiction_id=ZHONGSHAN).committed == 0
    assert not InventoryMovement.objects.filter(kind="committed").exists()
    assert Offer.objects.get().status == "offered"


def test_accepting_what_is_no_longer_available_is_a_409(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    offer_id = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    as_(ZHONGSHAN, role="operator").post("/api/v1/inventories/", {"resource_type": "drainage_pump", "on_hand": 2,
                                                                  "external_id": "zs-pumps"}, format="json")
    response = accept(as_(ZHUHAI), request_id, offer_id)
    assert response.status_code == 409 and response.json()["available"] == 2
    assert Offer.objects.get().status == "offered" and Inventory.objects.get(jurisdiction_id=ZHONGSHAN).committed == 0


def test_an_offer_is_accepted_once_and_never_beyond_the_need(zhuhai_flood, as_):
    zhuhai = as_(ZHUHAI)
    request_id = ask(zhuhai, zhuhai_flood, quantity=6).json()["id"]
    zs = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    jm = offer(as_(JIANGMEN), request_id, 3).json()["id"]
    assert accept(zhuhai, request_id, zs).status_code == 200
    assert accept(zhuhai, request_id, zs).status_code == 409  # already committed
    assert accept(zhuhai, request_id, jm).status_code == 409  # 3 offered, 1 still needed
    assert accept(zhuhai, request_id, jm, quantity=1).status_code == 200
    assert ResourceRequest.objects.get().accepted_quantity == 6
    assert accept(zhuhai, request_id, 999).status_code == 404


# --- the lifecycle -------------------------------------------------------------------------------------------


def test_the_whole_lifecycle_with_its_events_timeline_and_ledger(filled, as_):
    request_id, zs, jm = filled
    zhuhai, zhongshan, jiangmen = as_(ZHUHAI), as_(ZHONGSHAN, role="operator"), as_(JIANGMEN, role="operator")
    timeline_before = TimelineEntry.objects.count()

    assert act(zhongshan, request_id, "dispatch").json()["status"] == "committed"  # Jiangmen's not yet
    assert act(jiangmen, request_id, "dispatch").json()["status"] == "dispatched"
    assert act(zhuhai, request_id, "arrive").json()["status"] == "arrived"  # both, recorded by the requester
    assert act(zhuhai, request_id, "release").json()["status"] == "released"
    assert act(zhongshan, request_id, "return").json()["status"] == "released"
    done = act(jiangmen, request_id, "return").json()
    assert done["status"] == "returned" and {o["status"] for o in done["offers"]} == {"returned"}

    for code, on_hand in ((ZHONGSHAN, 10), (JIANGMEN, 6)):
        inventory = Inventory.objects.get(jurisdiction_id=code)
        assert (inventory.on_hand, inventory.committed) == (on_hand, 0)  # pumps come home
    kinds = list(InventoryMovement.objects.filter(inventory__jurisdiction_id=ZHONGSHAN).order_by("id")
                 .values_list("kind", flat=True))
    assert kinds == ["stocked", "committed", "dispatched", "arrived", "released", "returned"]

    names = [e.name for e in events()]
    for step in ("dispatched", "arrived", "released", "returned"):
        assert names.count(f"resource_request.{step}") == 2  # one per commitment moved
    for event in events():
        validate_payload(event.name, event.payload)
    assert TimelineEntry.objects.count() - timeline_before == 6  # one per call
    assert Offer.objects.get(pk=zs).messages.count() == 7


def test_supplies_are_used_up_not_returned(world, as_):
    stock(JIANGMEN, "sandbag", 1000, external_id="jm-sand")
    stock(ZHONGSHAN, "sandbag", 10)
    zhuhai = as_(ZHUHAI)
    request_id = ask(zhuhai, report_incident(ZHUHAI), resource_type="sandbag", quantity=400).json()["id"]
    offer_id = offer(as_(JIANGMEN), request_id, 400).json()["id"]
    accept(zhuhai, request_id, offer_id)
    for action in ("dispatch", "arrive", "release", "return"):
        assert act(zhuhai, request_id, action).status_code == 200
    inventory = Inventory.objects.get(jurisdiction_id=JIANGMEN, resource_type_id="sandbag")
    assert (inventory.on_hand, inventory.committed) == (600, 0)
    assert InventoryMovement.objects.filter(inventory=inventory).order_by("id").last().kind == "consumed"


@pytest.mark.parametrize("action", ["arrive", "release", "return"])
def test_moves_out_of_order_are_a_409(filled, as_, action):
    request_id, *_ = filled
    response = act(as_(ZHUHAI), request_id, action)
    assert response.status_code == 409
    assert response.json()["status"] == 409 and response.json()["request_status"] == "committed"
    assert {o.status for o in Offer.objects.all()} == {"committed"}


def test_nothing_moves_before_anything_is_accepted(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    offer(as_(ZHONGSHAN), request_id, 5)
    assert act(as_(ZHUHAI), request_id, "dispatch").status_code == 409
    assert act(as_(ZHONGSHAN), request_id, "dispatch").status_code == 403  # no commitment: no party to it


def test_who_may_record_each_move(filled, as_):
    request_id, zs, _ = filled
    assert act(as_(MACAO), request_id, "dispatch").status_code == 403  # asked, but no party to a commitment
    assert act(as_(ZHONGSHAN, role="viewer"), request_id, "dispatch").status_code == 403
    act(as_(ZHUHAI), request_id, "dispatch")
    act(as_(ZHUHAI), request_id, "arrive")
    assert act(as_(ZHONGSHAN), request_id, "release").status_code == 403  # demobilising is the requester's
    assert act(as_(ZHUHAI, role="operator"), request_id, "release").status_code == 403  # and its commander's
    offers = act(as_(ZHUHAI), request_id, "release", offer=zs).json()["offers"]
    assert {o["jurisdiction"]: o["status"] for o in offers} == {ZHONGSHAN: "released", JIANGMEN: "arrived"}
    assert act(as_(ZHUHAI), request_id, "release", offer=12345).status_code == 404


def test_after_the_return_everything_is_out_of_order(filled, as_):
    request_id, *_ = filled
    for action in ("dispatch", "arrive", "release", "return"):
        act(as_(ZHUHAI), request_id, action)
    for action in ("dispatch", "arrive", "release", "return", "cancel"):
        assert act(as_(ZHUHAI), request_id, action).status_code == 409


def test_an_unknown_action_is_a_404(filled, as_):
    request_id, *_ = filled
    assert act(as_(ZHUHAI), request_id, "teleport").status_code == 404


# --- cancelling ------------------------------------------------------------------------------------------------


def test_cancelling_lapses_offers_and_gives_commitments_back(zhuhai_flood, as_):
    zhuhai = as_(ZHUHAI, role="operator")
    request_id = ask(zhuhai, zhuhai_flood).json()["id"]
    zs = offer(as_(ZHONGSHAN), request_id, 5).json()["id"]
    offer(as_(JIANGMEN), request_id, 3)
    accept(as_(ZHUHAI), request_id, zs)
    response = act(zhuhai, request_id, "cancel", reason="water receding")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert dict(Offer.objects.values_list("jurisdiction_id", "status")) == {ZHONGSHAN: "cancelled", JIANGMEN: "lapsed"}
    assert Inventory.objects.get(jurisdiction_id=ZHONGSHAN).committed == 0
    assert InventoryMovement.objects.filter(kind="uncommitted", quantity=5).exists()
    event = Event.objects.get(name="resource_request.cancelled")
    validate_payload(event.name, event.payload)
    assert event.payload["released"] == [{"offer": zs, "jurisdiction": ZHONGSHAN, "quantity": 5}]
    assert act(zhuhai, request_id, "cancel").status_code == 409
    assert offer(as_(MACAO), request_id, 1).status_code == 409


def test_nothing_is_cancelled_once_something_left(filled, as_):
    request_id, zs, _ = filled
    act(as_(ZHONGSHAN), request_id, "dispatch")
    assert act(as_(ZHUHAI), request_id, "cancel").status_code == 409
    assert Inventory.objects.get(jurisdiction_id=JIANGMEN).committed == 3


def test_only_the_requester_cancels(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    assert act(as_(ZHONGSHAN), request_id, "cancel").status_code == 403
    assert act(as_(ZHUHAI, role="viewer"), request_id, "cancel").status_code == 403
    assert ResourceRequest.objects.get().status == "open"


# --- reimbursement --------------------------------------------------------------------------------------------


def reimburse(client, request_id, offer_id, action, amount, **extra):
    return client.post(f"{URL}{request_id}/offers/{offer_id}/reimbursement/", {"action": action, "amount": amount,
                                                                               **extra}, format="json")


def test_a_commitment_is_claimed_approved_and_paid(filled, as_):
    request_id, zs, _ = filled
    zhongshan, zhuhai = as_(ZHONGSHAN), as_(ZHUHAI)
    assert reimburse(zhuhai, request_id, zs, "approve", "10.00").status_code == 409  # nothing claimed yet
    claim = reimburse(zhongshan, request_id, zs, "claim", "12000.50", currency="CNY", note="fuel, crews")
    assert claim.status_code == 200 and claim.json()["reimbursement"]["claimed_amount"] == "12000.50"
    assert reimburse(zhongshan, request_id, zs, "claim", "11800.00").status_code == 200  # corrected
    assert reimburse(zhuhai, request_id, zs, "approve", "12000.00").status_code == 400  # more than claimed
    assert reimburse(zhongshan, request_id, zs, "approve", "100.00").status_code == 403
    assert reimburse(zhuhai, request_id, zs, "approve", "11000.00").status_code == 200
    assert reimburse(zhuhai, request_id, zs, "pay", "11000.01").status_code == 400
    paid = reimburse(zhuhai, request_id, zs, "pay", "11000.00").json()["reimbursement"]
    assert (paid["status"], paid["paid_amount"], paid["approved_amount"]) == ("paid", "11000.00", "11000.00")
    assert reimburse(zhuhai, request_id, zs, "pay", "1.00").status_code == 409
    names = [e.name for e in events() if e.name.endswith("reimbursement_updated")]
    assert len(names) == 4


@pytest.mark.parametrize("amount, currency, field", [("-5", None, "amount"), ("1.234", None, "amount"),
                                                     ("abc", None, "amount"), ("10", "yuan", "currency"),
                                                     ("1e30", None, "amount")])
def test_bad_claims_are_a_400(filled, as_, amount, currency, field):
    request_id, zs, _ = filled
    extra = {"currency": currency} if currency else {}
    response = reimburse(as_(ZHONGSHAN), request_id, zs, "claim", amount, **extra)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_an_offer_not_accepted_has_nothing_to_reimburse(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood).json()["id"]
    offer_id = offer(as_(ZHONGSHAN), request_id, 2).json()["id"]
    assert reimburse(as_(ZHONGSHAN), request_id, offer_id, "claim", "5").status_code == 404


# --- reading -----------------------------------------------------------------------------------------------------


def test_the_list_filters_and_takes_a_constant_number_of_queries(filled, as_, django_assert_num_queries):
    request_id, *_ = filled
    other = ask(as_(ZHUHAI), report_incident(ZHUHAI), resource_type="drainage_pump", quantity=1).json()["id"]
    zhuhai = as_(ZHUHAI, role="viewer")
    zhuhai.get(URL)
    for size in (1, 2):
        # count, page, recipients of the page, their incidents' affected jurisdictions (the rule
        # judges what a request shows of its incident by the incident's facts), offers (with
        # their reimbursement) of the page
        with django_assert_num_queries(5):
            assert zhuhai.get(f"{URL}?page_size={size}").status_code == 200
    assert [r["id"] for r in zhuhai.get(f"{URL}?status=committed").json()["results"]] == [request_id]
    assert [r["id"] for r in zhuhai.get(f"{URL}?status=open").json()["results"]] == [other]
    assert zhuhai.get(f"{URL}?recipient={JIANGMEN}").json()["count"] == 2
    assert zhuhai.get(f"{URL}?resource_type=sandbag").json()["count"] == 0
    assert zhuhai.get(f"{URL}?status=lost").status_code == 400


def test_requests_are_seen_by_the_requester_the_jurisdictions_asked_and_coordinators(zhuhai_flood, as_):
    request_id = ask(as_(ZHUHAI), zhuhai_flood, contacts=[{"name": "duty officer", "phone": "0756"}]).json()["id"]
    assert as_(ZHONGSHAN, role="viewer").get(f"{URL}{request_id}/").status_code == 200
    assert "contacts" not in as_(ZHONGSHAN, role="viewer").get(f"{URL}{request_id}/").json()
    assert as_(SHENZHEN, role="viewer").get(f"{URL}{request_id}/").status_code == 404
    assert as_(SHENZHEN, role="coordinator").get(f"{URL}{request_id}/").status_code == 200
    assert as_(ZHUHAI, role="viewer").get(f"{URL}{request_id}/").json()["contacts"][0]["phone"] == "0756"
    assert AuditEntry.objects.filter(action="resource_request.viewed", actor_jurisdiction=ZHONGSHAN).exists()


def test_a_drill_is_labelled_as_one(world, as_):
    stock(ZHONGSHAN, "drainage_pump", 3)
    body = ask(as_(ZHUHAI), report_incident(ZHUHAI, exercise=True), quantity=1).json()
    assert body["exercise"] is True
    assert Event.objects.get(name="resource_request.created").exercise is True


def test_needed_by_slightly_in_the_past_is_taken_as_now(zhuhai_flood, as_):
    response = ask(as_(ZHUHAI), zhuhai_flood, needed_by=(timezone.now() - timedelta(minutes=2)).isoformat())
    assert response.status_code == 201
