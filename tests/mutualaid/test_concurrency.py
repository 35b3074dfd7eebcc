"""Never over-commit: offers and acceptances racing for the last units of an inventory, with real
parallel transactions on PostgreSQL (a thread each, each with its own connection)."""

import threading

import pytest
from django.db import connection
from django.utils.dateparse import parse_datetime

from config.errors import Conflict
from sharing.mutualaid.models import Inventory, InventoryMovement, Offer, ResourceRequest
from sharing.mutualaid.services import offers as aid_offers
from sharing.mutualaid.services import requests as aid_requests
from tests.conftest import JIANGMEN, MACAO, ZHONGSHAN, ZHUHAI
from tests.mutualaid.conftest import needed_by, report_incident, stock
from tests.mutualaid.support import client_for, principal

pytestmark = [pytest.mark.django_db(transaction=True)]


def race(*calls):
    """Run the calls at the same moment, each in its own thread and transaction; returns each
    one's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def assert_ledger_matches(inventory: Inventory) -> None:
    """The ledger explains the stock exactly: its changes add up to what the inventory says."""
    inventory.refresh_from_db()
    movements = list(InventoryMovement.objects.filter(inventory=inventory).order_by("id"))
    assert sum(m.on_hand_change for m in movements) == inventory.on_hand
    assert sum(m.committed_change for m in movements) == inventory.committed
    assert movements[-1].committed_after == inventory.committed
    assert 0 <= inventory.committed <= inventory.on_hand


def ask(requester, incident, quantity, resource_type="drainage_pump"):
    return aid_requests.resource_request_create(actor=requester, data={
        "incident": incident.public_id, "resource_type": resource_type, "quantity": quantity,
        "needed_by": parse_datetime(needed_by())})


def test_acceptances_racing_for_the_last_units_of_an_inventory_never_over_commit(postgres, world):
    """Jiangmen has 6 pumps and has offered 2 to each of 6 requests: 12 offered, 6 to give.
    All six acceptances at once: exactly three commit, three get a 409, nothing more is committed."""
    pumps = stock(JIANGMEN, "drainage_pump", 6)
    zhuhai, jiangmen = principal(ZHUHAI, role="commander"), principal(JIANGMEN, role="commander")
    incident = report_incident(ZHUHAI)
    pairs = []
    for _ in range(6):
        request = ask(zhuhai, incident, 2)
        pairs.append((request.pk, aid_offers.offer_create(actor=jiangmen, request_id=request.pk,
                                                      data={"quantity": 2}).pk))

    results = race(*[lambda r=r, o=o: aid_offers.offer_accept(actor=zhuhai, request_id=r, offer_id=o)
                     for r, o in pairs])

    won = [result for result in results if isinstance(result, Offer)]
    lost = [result for result in results if isinstance(result, Conflict)]
    assert len(won) == 3 and len(lost) == 3, results
    pumps.refresh_from_db()
    assert (pumps.on_hand, pumps.committed) == (6, 6)
    assert Offer.objects.filter(status="committed").count() == 3
    assert InventoryMovement.objects.filter(inventory=pumps, kind="committed").count() == 3
    assert_ledger_matches(pumps)


def test_acceptances_racing_to_fill_one_request_never_accept_more_than_asked(postgres, world):
    """Zhuhai asks for 6; Zhongshan and Jiangmen offer 4 each; two commanders accept both at once."""
    stock(ZHONGSHAN, "drainage_pump", 10)
    stock(JIANGMEN, "drainage_pump", 10)
    zhuhai = principal(ZHUHAI, role="commander")
    request = ask(zhuhai, report_incident(ZHUHAI), 6)
    offers = [aid_offers.offer_create(actor=principal(code, role="operator"), request_id=request.pk,
                                  data={"quantity": 4}).pk for code in (ZHONGSHAN, JIANGMEN)]
    officers = [principal(ZHUHAI, role="commander") for _ in offers]

    results = race(*[lambda p=p, o=o: aid_offers.offer_accept(actor=p, request_id=request.pk, offer_id=o)
                     for p, o in zip(officers, offers, strict=True)])

    assert sorted(type(result).__name__ for result in results) == ["Conflict", "Offer"], results
    request.refresh_from_db()
    assert request.accepted_quantity == 4 and request.remaining == 2
    assert sum(Inventory.objects.values_list("committed", flat=True)) == 4


def test_parallel_offers_from_two_neighbours_then_racing_acceptances_through_the_api(postgres, world):
    """The issue's scene: Zhuhai asks; Zhongshan and Jiangmen answer in parallel; then both offers
    and a stock cut race; the API answers 201, 200 or 409, never a 500, never an over-commit."""
    zs_pumps = stock(ZHONGSHAN, "drainage_pump", 5)
    jm_pumps = stock(JIANGMEN, "drainage_pump", 3)
    zhuhai = client_for(ZHUHAI, role="commander")
    incident = report_incident(ZHUHAI)
    request_id = zhuhai.post("/api/v1/resource-requests/", {
        "incident": incident.public_id, "resource_type": "drainage_pump", "quantity": 8, "needed_by": needed_by()},
        format="json").json()["id"]
    offerers = {code: client_for(code, role="operator") for code in (ZHONGSHAN, JIANGMEN, MACAO)}

    offered = race(*[lambda c=c, q=q: c.post(f"/api/v1/resource-requests/{request_id}/offers/", {"quantity": q},
                                             format="json")
                     for c, q in ((offerers[ZHONGSHAN], 5), (offerers[JIANGMEN], 3))])
    assert [response.status_code for response in offered] == [201, 201]
    zs_offer, jm_offer = (response.json()["id"] for response in offered)

    accepters = [client_for(ZHUHAI, role="commander") for _ in range(3)]
    results = race(
        lambda: accepters[0].post(f"/api/v1/resource-requests/{request_id}/offers/{zs_offer}/accept/", format="json"),
        lambda: accepters[1].post(f"/api/v1/resource-requests/{request_id}/offers/{jm_offer}/accept/", format="json"),
        # Zhongshan sends 3 of its 5 pumps elsewhere at the same moment.
        lambda: offerers[ZHONGSHAN].patch(f"/api/v1/inventories/{zs_pumps.pk}/", {"on_hand": 2}, format="json"),
    )
    codes = [response.status_code for response in results]
    assert set(codes) <= {200, 409} and codes[1] == 200, [r.content for r in results]
    assert codes[0] != codes[2]  # the acceptance of 5 and the cut to 2 cannot both succeed
    for inventory in (zs_pumps, jm_pumps):
        assert_ledger_matches(inventory)
    request = ResourceRequest.objects.get(pk=request_id)
    assert request.accepted_quantity == sum(Offer.objects.filter(request=request).values_list("committed_quantity",
                                                                                              flat=True))


def test_offers_from_one_inventory_to_many_requests_race_with_their_acceptances(postgres, world):
    """Offering does not reserve; accepting does. Eight requests, eight offers of the same last
    unit, eight acceptances at once: one commits."""
    tent = stock(ZHONGSHAN, "tent", 1)
    zhuhai, zhongshan = principal(ZHUHAI, role="commander"), principal(ZHONGSHAN, role="operator")
    incident = report_incident(ZHUHAI)
    requests = [ask(zhuhai, incident, 1, resource_type="tent") for _ in range(8)]
    offered = race(*[lambda r=r: aid_offers.offer_create(actor=zhongshan, request_id=r.pk, data={"quantity": 1})
                     for r in requests])
    assert all(isinstance(result, Offer) for result in offered), offered
    accepters = [principal(ZHUHAI, role="commander") for _ in requests]
    results = race(*[lambda p=p, o=o: aid_offers.offer_accept(actor=p, request_id=o.request_id, offer_id=o.pk)
                     for p, o in zip(accepters, offered, strict=True)])
    assert sum(isinstance(result, Offer) for result in results) == 1
    assert all(isinstance(result, Offer | Conflict) for result in results), results
    assert_ledger_matches(tent)


def test_moves_of_requests_sharing_inventories_never_deadlock(postgres, world):
    """Two requests draw on the same two inventories, their offers made in opposite orders; their
    commitments come home at the same moment, several times over: every move goes through."""
    stock(ZHONGSHAN, "drainage_pump", 50)
    stock(JIANGMEN, "drainage_pump", 50)
    zhuhai = principal(ZHUHAI, role="commander")
    suppliers = {code: principal(code, role="operator") for code in (ZHONGSHAN, JIANGMEN)}
    incident = report_incident(ZHUHAI)
    pairs = []
    for _ in range(3):
        first, second = ask(zhuhai, incident, 2), ask(zhuhai, incident, 2)
        for request, order in ((first, (ZHONGSHAN, JIANGMEN)), (second, (JIANGMEN, ZHONGSHAN))):
            for code in order:
                made = aid_offers.offer_create(actor=suppliers[code], request_id=request.pk, data={"quantity": 1})
                aid_offers.offer_accept(actor=zhuhai, request_id=request.pk, offer_id=made.pk)
            for action in ("dispatch", "arrive", "release"):
                aid_offers.commitment_move(actor=zhuhai, request_id=request.pk, action=action)
        pairs.append((first.pk, second.pk))
    officers = [principal(ZHUHAI, role="commander") for _ in range(2)]
    for first, second in pairs:
        results = race(*[lambda p=p, r=r: aid_offers.commitment_move(actor=p, request_id=r, action="return")
                         for p, r in zip(officers, (first, second), strict=True)])
        assert all(isinstance(result, ResourceRequest) for result in results), results
    assert set(ResourceRequest.objects.values_list("status", flat=True)) == {"returned"}
    assert sum(Inventory.objects.values_list("committed", flat=True)) == 0
