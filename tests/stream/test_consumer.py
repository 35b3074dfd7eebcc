"""The /ws/v1/stream/ consumer, in process (channels' WebsocketCommunicator).

Events go through the real dispatcher: with REDIS_URL set through Redis pub/sub to this
process's hub, without it handed to the hub in-process (the embedded mode).
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from config.asgi import application
from sharing.eventlog import newest_seq, sequence_pending
from sharing.models import Event
from sharing.tasks import dispatch_pending
from tests.conftest import DONGGUAN, GUANGZHOU, HONG_KONG, MACAO, SHENZHEN, ZHUHAI
from tests.stream.conftest import WebsocketCommunicator, emit_incidents

pytestmark = pytest.mark.django_db(transaction=True)

emit = database_sync_to_async(emit_incidents)
dispatch = database_sync_to_async(dispatch_pending)


async def connect(token: str | None = None, *, query: str = "", headers=()):
    all_headers = list(headers)
    if token is not None:
        all_headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/v1/stream/{query}", headers=all_headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def open_stream(token: str, *, query: str = "", headers=()) -> tuple[WebsocketCommunicator, dict]:
    communicator, connected = await connect(token, query=query, headers=headers)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator, hello


async def next_of(communicator, kind: str, *, timeout: float = 5) -> dict:
    """The next message of a type, passing over heartbeats."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message
        assert message["type"] == "heartbeat", message


async def events(communicator, n: int) -> list[dict]:
    return [await next_of(communicator, "event") for _ in range(n)]


@pytest.fixture
def token(credentials):
    """A real token (async: tokens are made in the database)."""
    return database_sync_to_async(credentials.token)


# --- the handshake -----------------------------------------------------------------------------


async def test_it_refuses_a_handshake_without_credentials(gba):
    communicator, connected = await connect()
    assert not connected


@pytest.mark.parametrize("authorization", [b"Bearer nope", b"Basic dXNlcjpwYXNz", b"Bearer", b"Bearer a b"])
async def test_it_refuses_a_bad_authorization_header(gba, authorization):
    communicator, connected = await connect(headers=[(b"authorization", authorization)])
    assert not connected


async def test_it_refuses_a_revoked_token(token):
    from coordination.models import AccessToken
    from coordination.services import token_revoke

    raw = await token(SHENZHEN)
    await database_sync_to_async(lambda: token_revoke(token=AccessToken.objects.get()))()
    communicator, connected = await connect(raw)
    assert not connected


async def test_it_refuses_a_client_without_the_read_scope(token):
    communicator, connected = await connect(await token(SHENZHEN, scopes=["ack"]))
    assert not connected


async def test_it_refuses_a_foreign_origin(token):
    raw = await token(SHENZHEN)
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"https://evil.example")]
    communicator, connected = await connect(raw, headers=headers)
    assert not connected


async def test_it_refuses_same_origin_on_a_host_it_does_not_serve(token):
    """DNS rebinding: the attacker's page is "same-origin" with the host name it chose."""
    raw = await token(SHENZHEN)
    headers = [(b"host", b"rebound.example:8000"), (b"origin", b"http://rebound.example:8000")]
    communicator, connected = await connect(raw, headers=headers)
    assert not connected


async def test_it_accepts_its_own_origin_and_the_allowed_ones(token, settings):
    settings.WS_ALLOWED_ORIGINS = ["https://ui.example.org"]
    raw = await token(SHENZHEN)
    for origin in (b"http://127.0.0.1:8000", b"https://ui.example.org"):
        communicator, hello = await open_stream(raw, headers=[(b"host", b"127.0.0.1:8000"), (b"origin", origin)])
        await communicator.disconnect()


async def test_it_accepts_an_officers_session_cookie(make_officer):
    officer = await database_sync_to_async(make_officer)("duty-dg", DONGGUAN, "viewer")
    browser = Client()
    await database_sync_to_async(browser.force_login)(officer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    communicator, hello = await open_stream(None, headers=[(b"cookie", cookie)])
    assert hello["jurisdiction"] == DONGGUAN
    await communicator.disconnect()


async def test_it_refuses_the_session_of_a_user_who_is_not_an_officer(gba):
    from django.contrib.auth import get_user_model

    user = await database_sync_to_async(get_user_model().objects.create_user)("nobody", password="pw-Secret-123")
    browser = Client()
    await database_sync_to_async(browser.force_login)(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    communicator, connected = await connect(headers=[(b"cookie", cookie)])
    assert not connected


# --- hello, replay, live -------------------------------------------------------------------------


async def test_it_says_hello_with_the_newest_seq_and_the_callers_jurisdiction(token):
    await emit(2)
    await database_sync_to_async(sequence_pending)()
    communicator, hello = await open_stream(await token(DONGGUAN))
    assert hello == {"type": "hello", "seq": await database_sync_to_async(newest_seq)(), "jurisdiction": DONGGUAN}
    await communicator.disconnect()


async def test_it_sends_live_events_in_seq_order_as_the_event_log_shows_them(token, api_as):
    communicator, hello = await open_stream(await token(DONGGUAN))
    await emit(3, owner=SHENZHEN, concerned=[DONGGUAN], level="II")
    await dispatch()
    received = await events(communicator, 3)
    assert [m["seq"] for m in received] == list(range(hello["seq"] + 1, hello["seq"] + 4))
    log = await database_sync_to_async(lambda: api_as(DONGGUAN).get(f"/api/v1/events/?since={hello['seq']}"))()
    assert received == log.json()["results"]
    await communicator.disconnect()


async def test_it_withholds_sensitive_fields_from_other_jurisdictions_but_not_the_owner(token):
    neighbour, _ = await open_stream(await token(DONGGUAN))
    owner, _ = await open_stream(await token(SHENZHEN))
    await emit(1, owner=SHENZHEN, concerned=[DONGGUAN], level="II")
    await dispatch()
    seen_by_neighbour, seen_by_owner = (await next_of(neighbour, "event")), (await next_of(owner, "event"))
    assert "casualty_details" not in seen_by_neighbour["data"] and "contacts" not in seen_by_neighbour["data"]
    assert seen_by_owner["data"]["casualty_details"] == [{"name": "Zhang San", "age": 40}]
    assert seen_by_owner["seq"] == seen_by_neighbour["seq"]
    for communicator in (neighbour, owner):
        await communicator.disconnect()


async def test_it_never_sends_what_the_jurisdiction_may_not_see(token):
    """A level IV incident in Shenzhen: its neighbour Dongguan may not see it, Shenzhen may."""
    outsider, _ = await open_stream(await token(ZHUHAI))
    owner, _ = await open_stream(await token(SHENZHEN))
    await emit(1, owner=SHENZHEN, level="IV")
    await emit(1, owner=SHENZHEN, concerned=[ZHUHAI], level="IV")  # concerns Zhuhai: visible to it
    await dispatch()
    first, second = await events(owner, 2)
    assert (await next_of(outsider, "event"))["seq"] == second["seq"]
    assert await outsider.receive_nothing(timeout=0.3)
    for communicator in (outsider, owner):
        await communicator.disconnect()


async def test_a_coordinator_sees_the_whole_cluster(token):
    coordinator, _ = await open_stream(await token(MACAO, role="coordinator"))
    viewer, _ = await open_stream(await token(MACAO, role="viewer"))
    await emit(1, owner=GUANGZHOU, level="IV")
    await dispatch()
    assert (await next_of(coordinator, "event"))["data"]["reporting_jurisdiction"] == GUANGZHOU
    assert await viewer.receive_nothing(timeout=0.3)
    for communicator in (coordinator, viewer):
        await communicator.disconnect()


async def test_it_replays_after_since_then_continues_live_without_gap_or_duplicate(token):
    raw = await token(HONG_KONG)
    await emit(1, owner=SHENZHEN, level="I")
    await dispatch()
    first, hello = await open_stream(raw)
    await first.disconnect()
    await emit(4, owner=SHENZHEN, level="I")
    await dispatch()
    second, hello_again = await open_stream(raw, query=f"?since={hello['seq']}")
    replayed = await events(second, 4)
    await emit(2, owner=SHENZHEN, level="II")
    await dispatch()
    live = await events(second, 2)
    seqs = [m["seq"] for m in replayed + live]
    assert seqs == list(range(hello["seq"] + 1, hello["seq"] + 7))
    assert await second.receive_nothing(timeout=0.3)
    await second.disconnect()


async def test_events_dispatched_during_the_replay_come_once_and_in_order(token, settings):
    raw = await token(DONGGUAN)
    await emit(30, owner=SHENZHEN, level="I")
    await dispatch()
    communicator, connected = await connect(raw, query="?since=0")
    assert connected
    producer = asyncio.ensure_future(_produce(10))
    messages = []
    while len(messages) < 40:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "event":
            messages.append(message["seq"])
    await producer
    assert messages == sorted(set(messages)) and len(messages) == 40
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def _produce(n: int) -> None:
    for _ in range(n):
        await emit(1, owner=SHENZHEN, level="I")
        await dispatch()


async def test_a_replay_beyond_the_bound_says_to_use_the_event_log_and_continues_live(token, settings):
    settings.STREAM_REPLAY_MAX_EVENTS = 3
    await emit(5, owner=SHENZHEN, level="I")
    await dispatch()
    communicator, hello = await open_stream(await token(DONGGUAN), query="?since=0")
    error = await next_of(communicator, "error")
    assert error["code"] == "replay_too_old" and "/api/v1/events/?since=0" in error["detail"]
    assert error["resume_from"] == hello["seq"]
    await emit(1, owner=SHENZHEN, level="I")
    await dispatch()
    assert (await next_of(communicator, "event"))["seq"] == hello["seq"] + 1
    await communicator.disconnect()


async def test_a_replay_older_than_the_age_bound_is_refused_the_same_way(token, settings):
    settings.STREAM_REPLAY_MAX_AGE_SECONDS = 1
    await emit(1, owner=SHENZHEN, level="I")
    await dispatch()
    await database_sync_to_async(lambda: Event.objects.update(at="2020-01-01T00:00:00Z"))()
    communicator, hello = await open_stream(await token(DONGGUAN), query="?since=0")
    assert (await next_of(communicator, "error"))["code"] == "replay_too_old"
    await communicator.disconnect()


@pytest.mark.parametrize("query,code", [("?since=abc", "bad_since"), ("?since=-1", "bad_since"),
                                        ("?since=999999999", "since_ahead")])
async def test_a_bad_since_is_an_error_message_and_the_stream_goes_on(token, query, code):
    communicator, hello = await open_stream(await token(DONGGUAN), query=query)
    assert (await next_of(communicator, "error"))["code"] == code
    await communicator.send_json_to({"action": "ping"})
    assert await next_of(communicator, "pong") == {"type": "pong"}
    await communicator.disconnect()


# --- client messages ---------------------------------------------------------------------------


async def test_ping_is_answered_with_pong(token):
    communicator, _ = await open_stream(await token(DONGGUAN))
    await communicator.send_json_to({"action": "ping"})
    assert await next_of(communicator, "pong") == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.parametrize("sent,code", [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_message"),
    ('{"no": "action"}', "bad_message"),
    ('{"action": 5}', "bad_message"),
    ('{"action": "dance"}', "unknown_action"),
    ('{"action": "filter", "categories": "flood"}', "invalid"),
    ('{"action": "filter", "categories": ["volcano"]}', "invalid"),
    ('{"action": "filter", "level_at_least": "V"}', "invalid"),
    ('{"action": "filter", "jurisdictions": ["12"]}', "invalid"),
    ('{"action": "filter", "colour": "red"}', "invalid"),
    ('{"action": "ack"}', "invalid"),
    ('{"action": "ack", "acknowledgement": ""}', "invalid"),
    ("x" * 20000, "bad_message"),
])
async def test_a_bad_message_gets_an_error_and_the_connection_stays(token, sent, code):
    communicator, _ = await open_stream(await token(DONGGUAN))
    await communicator.send_to(text_data=sent)
    assert (await next_of(communicator, "error"))["code"] == code
    await communicator.send_json_to({"action": "ping"})
    assert await next_of(communicator, "pong") == {"type": "pong"}
    await communicator.disconnect()


async def test_binary_frames_get_an_error(token):
    communicator, _ = await open_stream(await token(DONGGUAN))
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await next_of(communicator, "error"))["code"] == "bad_message"
    await communicator.disconnect()


async def test_filter_narrows_what_comes_and_is_confirmed(token):
    communicator, _ = await open_stream(await token(DONGGUAN))
    await communicator.send_json_to({"action": "filter", "categories": ["accident"], "level_at_least": "II"})
    assert await next_of(communicator, "filter") == {
        "type": "filter", "categories": ["accident"], "level_at_least": "II", "jurisdictions": None}
    await emit(1, owner=SHENZHEN, level="I", category="natural_disaster")
    await emit(1, owner=SHENZHEN, level="III", concerned=[DONGGUAN], category="accident")
    await emit(1, owner=SHENZHEN, level="II", category="accident")
    await dispatch()
    message = await next_of(communicator, "event")
    assert (message["data"]["category"], message["data"]["level"]) == ("accident", "II")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.send_json_to({"action": "filter"})
    await next_of(communicator, "filter")
    await emit(1, owner=SHENZHEN, level="I")
    await dispatch()
    assert (await next_of(communicator, "event"))["data"]["level"] == "I"
    await communicator.disconnect()


async def test_filter_by_jurisdiction_applies_to_the_replay_too(token):
    await emit(1, owner=SHENZHEN, level="I")
    await emit(1, owner=ZHUHAI, level="I")
    await dispatch()
    communicator, hello = await open_stream(await token(DONGGUAN))
    await communicator.send_json_to({"action": "filter", "jurisdictions": [ZHUHAI]})
    await next_of(communicator, "filter")
    await communicator.disconnect()
    communicator, _ = await open_stream(await token(DONGGUAN), query="?since=0")
    await communicator.send_json_to({"action": "filter", "jurisdictions": [ZHUHAI]})
    # The replay may have begun before the filter arrived; what comes after it is narrowed.
    await next_of(communicator, "filter")
    await emit(1, owner=SHENZHEN, level="I")
    await emit(1, owner=ZHUHAI, level="I")
    await dispatch()
    tail = []
    while not tail or tail[-1]["seq"] < hello["seq"] + 2:
        tail.append(await next_of(communicator, "event"))
    assert tail[-1]["data"]["reporting_jurisdiction"] == ZHUHAI
    await communicator.disconnect()


async def test_ack_reaches_the_acknowledgements_service(token):
    communicator, _ = await open_stream(await token(DONGGUAN))
    await communicator.send_json_to({"action": "ack", "acknowledgement": "00000000-0000-0000-0000-000000000000"})
    error = await next_of(communicator, "error")
    assert (error["code"], error["acknowledgement"]) == ("not_found", "00000000-0000-0000-0000-000000000000")
    await communicator.disconnect()


async def test_ack_is_refused_to_a_caller_who_may_not_acknowledge(token):
    communicator, _ = await open_stream(await token(DONGGUAN, role="viewer"))
    await communicator.send_json_to({"action": "ack", "acknowledgement": "00000000-0000-0000-0000-000000000000"})
    assert (await next_of(communicator, "error"))["code"] == "forbidden"
    await communicator.disconnect()


# --- while connected -----------------------------------------------------------------------------


async def test_heartbeats_come_while_nothing_happens(token, settings):
    settings.STREAM_HEARTBEAT_SECONDS = 0.2
    communicator, _ = await open_stream(await token(DONGGUAN))
    assert await communicator.receive_json_from(timeout=3) == {"type": "heartbeat"}
    await communicator.disconnect()


async def test_a_token_revoked_while_connected_ends_the_connection(token, settings):
    from coordination.models import AccessToken
    from coordination.services import token_revoke

    settings.STREAM_AUTH_CHECK_SECONDS = 0.2
    communicator, _ = await open_stream(await token(DONGGUAN))
    await database_sync_to_async(lambda: token_revoke(token=AccessToken.objects.get()))()
    assert (await next_of(communicator, "error"))["code"] == "unauthorized"
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401, "reason": "credential revoked or expired"}


async def test_a_logout_ends_a_session_connection(make_officer, settings):
    settings.STREAM_AUTH_CHECK_SECONDS = 0.2
    officer = await database_sync_to_async(make_officer)("duty-dg", DONGGUAN, "viewer")
    browser = Client()
    await database_sync_to_async(browser.force_login)(officer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    communicator, _ = await open_stream(None, headers=[(b"cookie", cookie)])
    await database_sync_to_async(browser.logout)()
    assert (await next_of(communicator, "error"))["code"] == "unauthorized"
    assert (await communicator.receive_output(timeout=3))["code"] == 4401


async def test_bad_tokens_on_the_handshake_count_towards_the_guessing_limit(gba, settings):
    from coordination.models import AuditEntry

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "bad_credentials": "2/min"}}
    for _ in range(3):
        communicator, connected = await connect(headers=[(b"authorization", b"Bearer ld_guessing")])
        assert not connected
    audited = await database_sync_to_async(AuditEntry.objects.filter(action="auth.bad_token").count)()
    assert audited == 2  # the third attempt was over the limit: refused without a lookup
