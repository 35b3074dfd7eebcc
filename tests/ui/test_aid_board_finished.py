"""Issue 19: a returned request no longer says "尚缺 2", and finished requests (returned,
cancelled: sharing.mutualaid.lifecycle.CLOSED) leave the mutual-aid board unless asked for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def boats(gba):
    from sharing.mutualaid.services.inventories import inventory_upsert

    return inventory_upsert(actor=None, jurisdiction=DONGGUAN, data={"resource_type": "rescue_boat", "on_hand": 6})


def ask(shenzhen, incident, quantity):
    from sharing.mutualaid.services.requests import resource_request_create

    return resource_request_create(actor=shenzhen.principal, data={
        "incident": incident.public_id, "resource_type": "rescue_boat", "quantity": quantity,
        "needed_by": timezone.now() + timedelta(hours=3)})


def test_a_request_returned_half_filled_lacks_nothing_and_leaves_the_board(browse_as, reported, boats):
    from sharing.mutualaid.models import Offer
    from sharing.mutualaid.services import offers as aid_offers

    incident = reported(SHENZHEN, level="III", title="坪山河洪水")
    shenzhen, dongguan = browse_as(SHENZHEN, "commander"), browse_as(DONGGUAN, "operator")
    request = ask(shenzhen, incident, 4)
    aid_offers.offer_create(actor=dongguan.principal, request_id=request.pk, data={"quantity": 2})
    aid_offers.offer_accept(actor=shenzhen.principal, request_id=request.pk, offer_id=Offer.objects.get().pk)
    board = shenzhen.get("/resources/").content.decode()
    assert "已承诺 2，尚缺 2" in board  # still taking offers: 2 are missing
    for action, actor in (("dispatch", dongguan), ("arrive", shenzhen), ("release", shenzhen), ("return", dongguan)):
        aid_offers.commitment_move(actor=actor.principal, request_id=request.pk, action=action)
    request.refresh_from_db()
    assert request.status == "returned" and request.remaining == 2  # the API's figure is unchanged

    board = shenzhen.get("/resources/").content.decode()
    assert f'id="request-{request.pk}"' not in board
    assert "没有与本辖区有关的进行中互助请求。" in board
    assert 'href="/resources/?finished=1">显示已结束（已归还或已取消）的请求（1）</a>' in board
    finished = shenzhen.get("/resources/?finished=1").content.decode()
    assert f'id="request-{request.pk}"' in finished and "尚缺" not in finished
    assert "已承诺 2，无需更多" in finished and 'href="/resources/">隐藏已结束的请求</a>' in finished


def test_a_cancelled_request_leaves_the_board_and_an_open_one_stays(browse_as, reported, boats):
    from sharing.mutualaid.services import requests as aid

    incident = reported(SHENZHEN, level="III")
    shenzhen = browse_as(SHENZHEN, "commander", language="en")
    cancelled, still_open = ask(shenzhen, incident, 2), ask(shenzhen, incident, 3)
    aid.resource_request_cancel(actor=shenzhen.principal, request_id=cancelled.pk)
    board = shenzhen.get("/resources/").content.decode()
    assert f'id="request-{cancelled.pk}"' not in board and f'id="request-{still_open.pk}"' in board
    assert "0 committed, 3 still needed" in board
    assert "Show finished requests, returned or cancelled (1)" in board
    finished = shenzhen.get("/resources/?finished=1").content.decode()
    assert f'id="request-{cancelled.pk}"' in finished and f'id="request-{still_open.pk}"' in finished
    assert "0 committed, nothing more needed" in finished


def test_without_finished_requests_the_board_offers_no_filter(browse_as, reported, boats):
    incident = reported(SHENZHEN, level="III")
    shenzhen = browse_as(SHENZHEN, "commander")
    ask(shenzhen, incident, 2)
    board = shenzhen.get("/resources/").content.decode()
    assert "?finished=1" not in board and "隐藏已结束的请求" not in board
