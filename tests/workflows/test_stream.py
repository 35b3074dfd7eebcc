"""Acknowledging over the websocket stream (`{"action": "ack"}`), and the requests reaching the
jurisdictions they address on the stream."""

import pytest
from channels.db import database_sync_to_async

from config.asgi import application
from coordination.workflows.models import Acknowledgement, AckStatus
from sharing.tasks import dispatch_pending
from tests.conftest import HUIZHOU, MACAO, ZHONGSHAN
from tests.stream.conftest import WebsocketCommunicator
from tests.workflows.conftest import deliver, drive

pytestmark = pytest.mark.django_db(transaction=True)


async def open_stream(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/v1/stream/?since=0",
                                         headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def messages_until(communicator, predicate, *, limit: int = 500) -> list[dict]:
    seen = []
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=5)
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"not seen in {limit} messages: {seen[-5:]}")


@pytest.fixture
def flood_run(playbooks, report, clock):
    report()
    deliver()
    drive(clock.now)
    dispatch_pending()


async def test_a_jurisdiction_acknowledges_on_the_stream(flood_run, credentials):
    macao = await database_sync_to_async(credentials.token)(MACAO, scopes=["read", "ack"])
    ack = await database_sync_to_async(Acknowledgement.objects.get)(jurisdiction_id=MACAO)
    communicator = await open_stream(macao)
    replay = await messages_until(communicator, lambda m: m.get("event") == "acknowledgement.requested"
                                  and m["data"]["jurisdiction"] == MACAO)
    assert replay[-1]["data"]["id"] == str(ack.id) and replay[-1]["data"]["due_at"]
    await communicator.send_json_to({"action": "ack", "acknowledgement": str(ack.id)})
    await messages_until(communicator, lambda m: m["type"] == "ack" and m["acknowledgement"] == str(ack.id))
    await database_sync_to_async(ack.refresh_from_db)()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.acknowledged_by.startswith("system-820000")
    await database_sync_to_async(dispatch_pending)()
    received = await messages_until(communicator, lambda m: m.get("event") == "acknowledgement.received")
    assert received[-1]["data"]["status"] == "acknowledged"
    await communicator.disconnect()


async def test_acknowledging_another_jurisdictions_request_on_the_stream_is_an_error(flood_run, credentials):
    zhongshan = await database_sync_to_async(credentials.token)(ZHONGSHAN, scopes=["read", "ack"])
    ack = await database_sync_to_async(Acknowledgement.objects.get)(jurisdiction_id=MACAO)
    communicator = await open_stream(zhongshan)
    await communicator.send_json_to({"action": "ack", "acknowledgement": str(ack.id)})
    error = (await messages_until(communicator, lambda m: m["type"] == "error"))[-1]
    assert error["code"] == "forbidden" and error["acknowledgement"] == str(ack.id)
    await communicator.send_json_to({"action": "ping"})  # the connection stays
    await messages_until(communicator, lambda m: m["type"] == "pong")
    await communicator.disconnect()


async def test_the_requests_reach_only_who_may_see_them(playbooks, report, clock, credentials):
    await database_sync_to_async(report)(level="III")
    await database_sync_to_async(deliver)()
    await database_sync_to_async(drive)(clock.now)
    await database_sync_to_async(dispatch_pending)()
    huizhou = await database_sync_to_async(credentials.token)(HUIZHOU)
    communicator = await open_stream(huizhou)
    await communicator.send_json_to({"action": "ping"})
    seen = await messages_until(communicator, lambda m: m["type"] == "pong")
    assert not [m for m in seen if m["type"] == "event"]  # a level III incident far from Huizhou
    await communicator.disconnect()
