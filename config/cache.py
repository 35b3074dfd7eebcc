"""The services mode's cache: Redis, and a cache local to the process while Redis is away.

Redis is a carrier that may vanish at any moment (docs/architecture.md); what the cache holds here
(throttle counters, the bad-credentials counter, the sharing rule's version) is worth having
but not worth failing a request for. Django's RedisCache raises on every call while Redis is
down, which turned every API request into a 500 (the throttles read the cache first): found
by the fault suite, tests/faults/test_redis_outage.py.

So each call goes to Redis; when Redis does not answer, to a local-memory cache of this
process, and Redis is tried again RETRY_SECONDS later (a Redis that times out would otherwise
cost its timeout on every request). Rate limits keep holding during an outage, per process
instead of across processes; the sharing rule's version falls back to the local one, and the
snapshot is still reloaded every REGISTRY_CACHE_SECONDS.
"""

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("liandong.cache")

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


class FailoverRedisCache(RedisCache):
    RETRY_SECONDS = 5.0

    def __init__(self, server, params):
        super().__init__(server, params)
        self._local = LocMemCache(f"liandong-failover-{id(self)}", {
            "TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 10_000},
        })
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except UNAVAILABLE as exc:
                with self._lock:
                    first = time.monotonic() >= self._down_until
                    self._down_until = time.monotonic() + self.RETRY_SECONDS
                if first:
                    logger.warning("cache: Redis does not answer (%s); using this process's memory for %.0fs",
                                   exc, self.RETRY_SECONDS)
        return getattr(self._local, name)(*args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        self._local.clear()
        return self._call("clear")
