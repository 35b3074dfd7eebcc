"""What is escalated to a coordination body reaches its seated officers' stream connections
(issue 19): the audience of an event addressed to a body has a group for the body
(sharing.visibility.audience), the route carries it and the hub hands it to the connections of
officers seated on it (their session's principal with its bodies), whatever their own
jurisdiction sees. The dashboard redraws its inbox on a stream event, so the item appears live.

A real websocket connection through the ASGI application and the real dispatcher."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client

from sharing.eventlog import Subject, emit_event
from tests.conftest import DONGGUAN, SHENZHEN
from tests.stream.test_consumer import dispatch, next_of, open_stream

pytestmark = pytest.mark.django_db(transaction=True)

COMMITTEE = "GBA-COMMITTEE"
GUANGDONG = "440000"  # the province: in no cluster, sees nothing of a city's level-IV incident


def _escalate_to_the_committee() -> None:
    """An escalation.raised to the committee about Shenzhen's level-IV incident (Dongguan silent)."""
    subject = Subject(type="escalation", id="esc-1", cluster="GBA", owner=SHENZHEN, jurisdictions=[DONGGUAN],
                      level="IV", category="natural_disaster")
    with transaction.atomic():
        emit_event("escalation.raised", subject=subject, payload={
            "id": "00000000-0000-0000-0000-000000000001", "run": "00000000-0000-0000-0000-000000000002",
            "incident": "INC-2026-000001", "acknowledgement": None, "stage": 3, "subject_jurisdiction": DONGGUAN,
            "target": "body", "target_jurisdiction": None, "target_body": COMMITTEE,
            "reason": "ack_overdue", "raised_at": "2026-07-21T08:30:00+08:00", "exercise": False})


async def _session(make_officer, username: str, *, seated: bool) -> bytes:
    officer = await database_sync_to_async(make_officer)(username, GUANGDONG, "commander")
    if seated:
        from coordination.bodies import body_member_add

        await database_sync_to_async(body_member_add)(body=COMMITTEE, username=username)
    browser = Client()
    await database_sync_to_async(browser.force_login)(officer)
    return f"sessionid={browser.cookies['sessionid'].value}".encode()


async def test_an_escalation_to_the_committee_reaches_its_seated_officers_live(make_officer):
    member, _ = await open_stream(None, headers=[(b"cookie", await _session(make_officer, "gd-seat", seated=True))])
    outsider, _ = await open_stream(None, headers=[(b"cookie", await _session(make_officer, "gd-free", seated=False))])
    await database_sync_to_async(_escalate_to_the_committee)()
    await dispatch()
    received = await next_of(member, "event")
    assert received["event"] == "escalation.raised" and received["data"]["target_body"] == COMMITTEE
    await member.disconnect()
    # Not seated: Guangdong alone sees nothing of it (waiting out the time ends that connection).
    with pytest.raises(asyncio.TimeoutError):
        await next_of(outsider, "event", timeout=1.5)
