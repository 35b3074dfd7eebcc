"""`/ws/v1/stream/` (docs/api.md, "Stream"; how it works: docs/stream.md).

Connect: Origin check, authentication (bearer token or an officer's session) before accepting,
`hello` with the newest seq, the replay from `since` (bounded), then live events. Client
messages: `ping`, `filter`, `ack`; a bad one gets an error message and the socket stays open.
The fan-out itself is the hub's (sharing.stream.hub); this class only connects a socket to it.
An edge (docs/architecture.md, "Layers"): `ack` calls the workflows' service, as an API view does.
"""

import asyncio
import json
import logging
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from config.errors import ApplicationError
from coordination.authentication import scope_client_ip
from coordination.roles import Action
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
from sharing.stream import selectors
from sharing.stream.filters import EventFilter
from sharing.stream.frames import frame_writer
from sharing.stream.hub import CLOSE_SERVER_ERROR, Credential, Subscriber, get_hub
from sharing.stream.routes import encode

logger = logging.getLogger("liandong.stream")

REPLAY_PAGE = 500
MAX_CLIENT_MESSAGE = 16 * 1024
CLOSE_REASONS = {4401: "credential revoked or expired", 4408: "too slow: resume with since"}


def origin_allowed(headers: dict[bytes, bytes]) -> bool:
    """Browsers send Origin: it must be this service (on a host Django serves) or one listed in
    WS_ALLOWED_ORIGINS. Without Origin the client is not a browser and nothing is at stake
    (the cross-site hijacking of a session cookie that this check prevents needs a browser)."""
    raw = headers.get(b"origin")
    if raw is None:
        return True
    origin = raw.decode("latin-1").strip().rstrip("/").lower()
    allowed = {item.rstrip("/").lower() for item in settings.WS_ALLOWED_ORIGINS}
    if "*" in allowed or origin in allowed:
        return True
    parsed = urlparse(origin)
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if parsed.scheme not in ("http", "https") or not host or parsed.netloc != host:
        return False
    # Same origin only counts on a host this service answers for: DNS rebinding makes an
    # attacker's page "same-origin" with whatever host name it chose.
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def parse_since(query_string: bytes) -> tuple[int | None, dict | None]:
    values = parse_qs(query_string.decode("latin-1")).get("since")
    if not values:
        return None, None
    raw = values[-1]
    if not raw.isdigit() or len(raw) > 18:
        return None, _error("bad_since", "since must be a non-negative integer (a seq); live events follow.")
    return int(raw), None


def _error(code: str, detail: str, **extra) -> dict:
    return {"type": "error", "code": code, "detail": detail, **extra}


class StreamConsumer(AsyncWebsocketConsumer):
    # No channel layer: fan-out is the hub's; a layer channel per connection is what made the
    # group design slow (and every connection would hold a Redis receive open).
    channel_layer_alias = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.subscriber: Subscriber | None = None
        self.hub = None
        self.principal = None
        self._catching_up: asyncio.Task | None = None

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, a thread hop per
        # client message; this consumer reaches the database only through
        # database_sync_to_async, which does that itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        headers = dict(self.scope.get("headers", []))
        if not origin_allowed(headers):
            logger.info("stream: origin %r refused", headers.get(b"origin"))
            await self.close()
            return
        authorization = headers.get(b"authorization")
        cookie = headers.get(b"cookie")
        auth = await database_sync_to_async(selectors.stream_authenticate)(
            authorization=authorization.decode("latin-1") if authorization is not None else None,
            cookie=cookie.decode("latin-1") if cookie is not None else None,
            ip=scope_client_ip(self.scope),
        )
        if auth is None or not auth.principal.can(Action.READ):
            await self.close()
            return
        self.principal = auth.principal
        await self.accept()
        self.hub = await get_hub()
        self.subscriber = Subscriber(
            jurisdiction=auth.principal.jurisdiction,
            is_coordinator=auth.principal.is_coordinator,
            bodies=frozenset(auth.principal.bodies),
            credential=Credential(token_id=auth.token_id, session_key=auth.session_key,
                                  user_id=auth.principal.user_id if auth.session_key else None),
            send=self.base_send,
            close=self._close_with,
            write_frame=frame_writer(self.base_send),
        )
        # Registered before reading the newest seq: every event after what the replay reads
        # reaches the subscriber live (buffered until the replay is done).
        self.hub.add(self.subscriber)
        try:
            newest = await database_sync_to_async(selectors.newest_seq)()
            await self._send_json({"type": "hello", "seq": newest, "jurisdiction": auth.principal.jurisdiction})
            since, since_error = parse_since(self.scope.get("query_string", b""))
            start = await database_sync_to_async(selectors.replay_start)(since=since, newest=newest)
        except Exception:  # the database is away: the client reconnects with since
            logger.exception("stream connection could not start")
            self.hub.remove(self.subscriber)
            self.subscriber.close(CLOSE_SERVER_ERROR)
            return
        for error in (since_error, start.error):
            if error:
                await self._send_json(error)
        self._catching_up = asyncio.get_running_loop().create_task(self._catch_up(start.cursor))

    async def _catch_up(self, cursor: int) -> None:
        """The replay from the log, then live: pages until the end, again if the live buffer
        overflowed meanwhile, then what the hub buffered."""
        subscriber = self.subscriber
        subscriber.last_seq = cursor
        try:
            while True:
                subscriber.reread = False
                page = await database_sync_to_async(selectors.replay_page)(
                    principal=self.principal, after=subscriber.last_seq, limit=REPLAY_PAGE
                )
                for item in page.items:
                    if subscriber.closed:
                        return
                    subscriber.last_seq = item.seq
                    if subscriber.filter.is_empty or subscriber.filter.matches(
                        category=item.category, level=item.level, jurisdictions=item.jurisdictions
                    ):
                        await subscriber.send_direct(item.message)
                subscriber.last_seq = max(subscriber.last_seq, page.last_seq)
                if not page.more and not subscriber.reread:
                    break
            subscriber.go_live()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("stream replay failed")
            subscriber.close(CLOSE_SERVER_ERROR)

    async def websocket_disconnect(self, message):
        if self._catching_up is not None:
            self._catching_up.cancel()
        if self.subscriber is not None:
            self.subscriber.close(None)
            self.hub.remove(self.subscriber)
        raise StopConsumer()

    async def _close_with(self, code: int) -> None:
        await self.close(code=code, reason=CLOSE_REASONS.get(code))

    async def _send_json(self, message: dict) -> None:
        await self.base_send({"type": "websocket.send", "text": encode(message)})

    # --- client messages -----------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await self._send_json(_error("bad_message", "Send JSON text messages."))
            return
        if len(text_data) > MAX_CLIENT_MESSAGE:
            await self._send_json(_error("bad_message", f"Messages are at most {MAX_CLIENT_MESSAGE} bytes."))
            return
        try:
            message = json.loads(text_data)
        except ValueError as exc:
            await self._send_json(_error("bad_json", f"Malformed JSON: {exc}"))
            return
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            await self._send_json(_error("bad_message", 'A message is an object with an "action".'))
            return
        handler = {"ping": self._ping, "filter": self._filter, "ack": self._ack}.get(message["action"])
        if handler is None:
            await self._send_json(_error("unknown_action", "Actions are ping, filter and ack.",
                                         action=message["action"][:50]))
            return
        await handler(message)

    async def _ping(self, message: dict) -> None:
        await self._send_json({"type": "pong"})

    async def _filter(self, message: dict) -> None:
        unknown = sorted(set(message) - {"action", "categories", "level_at_least", "jurisdictions"})
        if unknown:
            await self._send_json(_error("invalid", f"Unknown filter fields: {', '.join(unknown[:10])}.",
                                         errors={name: ["Unknown field."] for name in unknown[:10]}))
            return
        try:
            event_filter = EventFilter.parse(message)
        except ApplicationError as exc:
            await self._send_json(_error("invalid", exc.detail, errors=exc.errors))
            return
        self.subscriber.filter = event_filter
        await self._send_json({"type": "filter", **event_filter.as_dict()})

    async def _ack(self, message: dict) -> None:
        acknowledgement = message.get("acknowledgement")
        if not isinstance(acknowledgement, str) or not acknowledgement.strip() or len(acknowledgement) > 64:
            await self._send_json(_error("invalid", "acknowledgement: the id of an acknowledgement request.",
                                         errors={"acknowledgement": ["The id of an acknowledgement request."]}))
            return
        try:
            await database_sync_to_async(acknowledgement_acknowledge)(actor=self.principal,
                                                                      acknowledgement_id=acknowledgement)
        except ApplicationError as exc:
            await self._send_json(_error(exc.slug.replace("-", "_"), exc.detail, acknowledgement=acknowledgement))
            return
        await self._send_json({"type": "ack", "acknowledgement": acknowledgement})
