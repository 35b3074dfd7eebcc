"""The reads the stream needs. Synchronous (the ORM): the consumer and the hub call them
through database_sync_to_async, and never touch the ORM themselves."""

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework.exceptions import AuthenticationFailed, Throttled

from coordination.authentication import principal_for_bearer, principal_for_user, token_still_valid
from coordination.principals import Principal, with_bodies
from sharing import eventlog
from sharing.models import Event
from sharing.selectors import event_facts, event_message, events_addressed, events_visible_to, visible_events_q
from sharing.stream.routes import Route, encode, route_events
from sharing.visibility import Viewer, decide, sharing_context


def newest_seq() -> int:
    return eventlog.newest_seq()


# --- who is connecting --------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamAuth:
    principal: Principal
    token_id: int | None = None
    session_key: str | None = None


def stream_authenticate(*, authorization: str | None, cookie: str | None, ip: str | None = None) -> StreamAuth | None:
    """The caller of a websocket handshake: a bearer token, else an officer's session cookie.

    A malformed or unknown Authorization header is a refusal, never a fall-back to the cookie.
    """
    if authorization is not None:
        try:
            principal = principal_for_bearer(authorization, ip=ip)
        except (AuthenticationFailed, Throttled):
            return None
        return StreamAuth(principal, token_id=principal.token_id) if principal else None
    if cookie:
        session_key = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME)
        principal = _session_principal(session_key)
        if principal is not None:
            return StreamAuth(principal, session_key=session_key)
    return None


def _session_principal(session_key: str | None) -> Principal | None:
    if not session_key:
        return None
    engine = import_string(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    # django.contrib.auth.get_user reads only `.session` and verifies the session's auth hash,
    # so a changed password or a logout ends the session here as it does for HTTP.
    user = get_user(SimpleNamespace(session=session))
    if not user.is_authenticated or not user.is_active:
        return None
    # With the coordination bodies the officer sits on: what is addressed to a body reaches
    # its officers' connections (the hub's by-body map; sharing.visibility.audience).
    principal = principal_for_user(user)
    return with_bodies(principal) if principal is not None else None


def credentials_still_valid(credentials) -> set:
    """The credentials (sharing.stream.hub.Credential) of open connections that still hold."""
    valid = set()
    for credential in credentials:
        if credential.token_id is not None:
            if token_still_valid(credential.token_id):
                valid.add(credential)
        elif credential.session_key is not None:
            principal = _session_principal(credential.session_key)
            if principal is not None and principal.user_id == credential.user_id:
                valid.add(credential)
    return valid


# --- replay -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayStart:
    cursor: int
    error: dict | None = None


def replay_start(*, since: int | None, newest: int) -> ReplayStart:
    """Where a connection starts: after `since` when the replay bound allows, else after `newest`
    with an error telling the client to fetch the difference from the event log."""
    if since is None:
        return ReplayStart(newest)
    if since > newest:
        return ReplayStart(newest, _error("since_ahead", f"since={since} is beyond the newest event ({newest}); "
                                          f"live events follow from {newest}.", since=since, resume_from=newest))
    too_many = newest - since > settings.STREAM_REPLAY_MAX_EVENTS
    if not too_many:
        first = Event.objects.filter(seq__gt=since).order_by("seq").values_list("at", flat=True).first()
        oldest_allowed = timezone.now() - timedelta(seconds=settings.STREAM_REPLAY_MAX_AGE_SECONDS)
        if first is None or first >= oldest_allowed:
            return ReplayStart(since)
    return ReplayStart(newest, _error(
        "replay_too_old",
        f"The stream replays at most {settings.STREAM_REPLAY_MAX_EVENTS} events or "
        f"{settings.STREAM_REPLAY_MAX_AGE_SECONDS} seconds. Fetch the events after {since} up to {newest} with "
        f"GET /api/v1/events/?since={since}; this connection continues after {newest}.",
        since=since, resume_from=newest,
    ))


def _error(code: str, detail: str, **extra) -> dict:
    return {"type": "error", "code": code, "detail": detail, **extra}


@dataclass(frozen=True)
class StreamItem:
    """One event for one connection: its message and the facts the connection's filter reads."""

    seq: int
    message: dict  # the ASGI send message, its text already serialised
    category: str
    level: str
    jurisdictions: tuple[str, ...]


@dataclass(frozen=True)
class ReplayPage:
    items: list[StreamItem]
    last_seq: int  # the last seq read, visible or not: where the next page starts
    more: bool


def replay_page(*, principal: Principal, after: int, limit: int) -> ReplayPage:
    """The events after `after` the principal may see, oldest first, as GET /api/v1/events/
    gives them (the same rule, the same redaction)."""
    viewer = Viewer.of(principal)  # an officer's session principal carries its bodies (_session_principal)
    ctx = sharing_context()
    events = list(
        Event.objects.filter(seq__gt=after).filter(visible_events_q(viewer, ctx=ctx)).order_by("seq")[:limit]
    )
    addressed = events_addressed(events, among=viewer.bodies)
    items = []
    for event in events:
        decision = decide(viewer, event_facts(event, addressed=addressed), ctx=ctx)
        if decision:
            text = encode(event_message(event, withheld=decision.withheld))
            items.append(StreamItem(event.seq, {"type": "websocket.send", "text": text}, event.category,
                                    event.level, tuple(event.jurisdiction_codes)))
    return ReplayPage(items, events[-1].seq if events else after, len(events) == limit)


def routes_between(*, after: int, upto: int, limit: int) -> list[Route]:
    """Routes for the numbered events in (after, upto], as the dispatcher makes them: what a
    server process relays itself when it missed messages."""
    return route_events(list(Event.objects.filter(seq__gt=after, seq__lte=upto).order_by("seq")[:limit]))


# --- the event log endpoint (GET /api/v1/events/): the stream's twin for systems that poll ------


@dataclass(frozen=True)
class EventLogPage:
    results: list[dict]
    next_since: int  # where the caller continues: safe to keep as its cursor
    more: bool


def event_log_page(*, principal: Principal, since: int, limit: int) -> EventLogPage:
    """The events after `since` the principal may see, oldest first, as the stream sends them.

    `next_since` also skips what the caller may not see: the newest seq is read before the
    events, so when the page is not full every visible event up to it has been returned.
    """
    newest = eventlog.newest_seq()
    results = events_visible_to(principal=principal, since=since, limit=limit)
    last = results[-1]["seq"] if results else since
    if len(results) == limit:
        return EventLogPage(results, last, True)
    return EventLogPage(results, max(since, newest, last), False)
