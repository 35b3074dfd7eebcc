"""A coordination body's officer resuming the stream gets replayed what it was sent live (issue
19): the events about an incident addressed to the body (sharing.models.AddressedToBody, written
with the escalation to the committee) and the events addressed to the body itself reach the
officer live (the route's body group) and again, the same, in a replay from a sequence number
(the replay's filter and the route read one rule: sharing.selectors.event_facts). An officer of
the same jurisdiction who is not seated gets neither.

A real websocket connection through the ASGI application and the real dispatcher."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client
from django.utils import timezone

from sharing.eventlog import Subject, emit_event
from sharing.models import Event
from tests.conftest import DONGGUAN, SHENZHEN
from tests.stream.conftest import emit_incidents, incident_payload
from tests.stream.test_consumer import dispatch, events, next_of, open_stream

pytestmark = pytest.mark.django_db(transaction=True)

COMMITTEE = "GBA-COMMITTEE"
GUANGDONG = "440000"  # the province: in no cluster, sees nothing of a city's level-IV incident


def _report() -> str:
    """Shenzhen's level-IV incident reaching into Dongguan (theirs alone by the cluster default)."""
    (row,) = emit_incidents(1, owner=SHENZHEN, concerned=[DONGGUAN], level="IV")
    return Event.objects.get(pk=row).subject_id


def _subject(public_id: str, type_: str = "incident") -> Subject:
    return Subject(type=type_, id=public_id, cluster="GBA", owner=SHENZHEN, jurisdictions=[DONGGUAN], level="IV",
                   category="natural_disaster")


def _escalate(public_id: str) -> None:
    """What the playbook engine writes when Dongguan's silence reaches the committee, in one
    transaction: the record that the incident is addressed to the body, and escalation.raised."""
    from sharing.services import address_to_body

    with transaction.atomic():
        address_to_body(incident=public_id, body=COMMITTEE, at=timezone.now())
        emit_event("escalation.raised", subject=_subject("esc-1", "escalation"), payload={
            "id": "00000000-0000-0000-0000-000000000001", "run": "00000000-0000-0000-0000-000000000002",
            "incident": public_id, "acknowledgement": None, "stage": 2, "subject_jurisdiction": DONGGUAN,
            "target": "committee", "target_jurisdiction": None, "target_body": COMMITTEE,
            "reason": "ack_overdue", "raised_at": "2026-07-21T08:30:00+08:00", "exercise": False})


def _update(public_id: str) -> None:
    """Shenzhen updates the incident after the escalation."""
    number = int(public_id.rsplit("-", 1)[1])
    with transaction.atomic():
        emit_event("incident.updated", subject=_subject(public_id), payload={
            **incident_payload(number=number, owner=SHENZHEN, concerned=[DONGGUAN], level="IV",
                               category="natural_disaster"), "title": "水位回落", "version": 2, "changed": ["title"]})


async def _session(make_officer, username: str, *, seated: bool) -> list:
    officer = await database_sync_to_async(make_officer)(username, GUANGDONG, "commander")
    if seated:
        from coordination.bodies import body_member_add

        await database_sync_to_async(body_member_add)(body=COMMITTEE, username=username)
    browser = Client()
    await database_sync_to_async(browser.force_login)(officer)
    return [(b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())]


async def test_a_body_officer_is_replayed_what_it_was_sent_live(make_officer):
    member_cookie = await _session(make_officer, "gd-seat", seated=True)
    outsider_cookie = await _session(make_officer, "gd-free", seated=False)
    public_id = await database_sync_to_async(_report)()
    await dispatch()

    member, hello = await open_stream(None, headers=member_cookie)
    outsider, _ = await open_stream(None, headers=outsider_cookie)
    await database_sync_to_async(_escalate)(public_id)
    await database_sync_to_async(_update)(public_id)
    await dispatch()
    live = await events(member, 2)
    assert [message["event"] for message in live] == ["escalation.raised", "incident.updated"]
    assert live[1]["data"]["id"] == public_id and live[1]["data"]["title"] == "水位回落"
    # As those concerned see it: the sensitive fields withheld.
    assert "contacts" not in live[1]["data"] and "casualty_details" not in live[1]["data"]
    await member.disconnect()
    with pytest.raises(asyncio.TimeoutError):
        await next_of(outsider, "event", timeout=1.5)

    # Resuming from the same cursor: the same events, the same messages.
    again, _ = await open_stream(None, headers=member_cookie, query=f"?since={hello['seq']}")
    assert await events(again, 2) == live
    assert await again.receive_nothing(timeout=0.3)
    await again.disconnect()
    # Not seated: the replay has nothing for it either.
    unseated, _ = await open_stream(None, headers=outsider_cookie, query=f"?since={hello['seq']}")
    with pytest.raises(asyncio.TimeoutError):
        await next_of(unseated, "event", timeout=1.5)
