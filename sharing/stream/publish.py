"""The dispatcher's side of the stream: each route goes to every server process once, in seq order.

Services mode: one Redis PUBLISH per event on STREAM_REDIS_CHANNEL (a batch in one pipelined
round trip); a Redis that is down fails the dispatch batch, which the relay sends again.
Embedded mode (no Redis; the worker is a thread of the server process): the routes are handed
to this process's hub on its event loop.
"""

import os
import threading

import redis
from django.conf import settings

from sharing.stream.hub import current_hub
from sharing.stream.routes import Route

_client: redis.Redis | None = None
_client_lock = threading.Lock()


def _redis() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5,
                                           health_check_interval=30,
                                           client_name=f"liandong-stream-publisher-{os.getpid()}")
        return _client


def publish_routes(routes: list[Route]) -> None:
    if not routes:
        return
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        for route in routes:
            pipe.publish(settings.STREAM_REDIS_CHANNEL, route.to_wire())
        pipe.execute()
        return
    hub = current_hub()
    if hub is None or hub.loop.is_closed():
        return  # no connection was ever opened in this process: nobody to tell
    for route in routes:
        try:
            hub.loop.call_soon_threadsafe(hub.submit, route)
        except RuntimeError:  # the loop closed meanwhile (the server is stopping)
            return
