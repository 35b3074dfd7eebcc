"""Rate limits per API client or officer, and per address for logins.

DRF's SimpleRateThrottle keeps each caller's history as a list in the cache: a read and a
write per request, the whole list pickled both ways (thousands of timestamps for a busy city
system), and two requests at once in different processes can both read the list before
either writes it back. In the services mode the same sliding window is a Redis sorted set
updated by one script: one round trip, atomic across processes, the same rule (at most N
requests in any window of the period). In the embedded mode (one process, a local-memory
cache), and while Redis does not answer (config/cache.py), DRF's cache history does it.
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from coordination.principals import Principal

logger = logging.getLogger("liandong.throttling")

# KEYS[1]: the window; ARGV: now, period (seconds), limit, a member unique to this request.
# Returns 0 when the request is allowed (and counted), else the seconds until the oldest
# request in the window leaves it.
SLIDING_WINDOW_SCRIPT = """
local key, now, period, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return tostring(tonumber(oldest[2]) + period - now)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(period))
return '0'
"""


class SlidingWindows:
    """Sliding-window counters in Redis, shared by every process; `hit` raises
    `Unavailable` while Redis does not answer (and, for RETRY_SECONDS after, without asking:
    a Redis that times out would cost its timeout on every request)."""

    RETRY_SECONDS = 5.0

    class Unavailable(Exception):
        pass

    def __init__(self):
        self._lock = threading.Lock()
        self._script = None
        self._down_until = 0.0

    def _loaded_script(self):
        with self._lock:
            if self._script is None:
                client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2,
                                              client_name=f"liandong-throttle-{os.getpid()}")
                self._script = client.register_script(SLIDING_WINDOW_SCRIPT)
            return self._script

    def hit(self, key: str, *, limit: int, period: int, now: float) -> float | None:
        """Count a request in the window `key` if fewer than `limit` were made in the last
        `period` seconds: None; otherwise (not counted) the seconds to wait."""
        if time.monotonic() < self._down_until:
            raise self.Unavailable
        try:
            wait = float(self._loaded_script()(keys=[f"liandong:{key}"], args=[now, period, limit, _unique()]))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            logger.warning("throttling: Redis does not answer (%s); counting in this process for %.0fs",
                           exc, self.RETRY_SECONDS)
            raise self.Unavailable from exc
        return None if wait <= 0 else wait

    def reset(self) -> None:
        with self._lock:
            self._script = None
            self._down_until = 0.0


def _unique() -> str:
    return os.urandom(8).hex()


windows = SlidingWindows()


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from the settings at each request (DRF binds it once, at import), and
    counts in Redis when there is one (see the module's docstring)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        if self.rate is None or not settings.REDIS_URL:
            return super().allow_request(request, view)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            self._wait = windows.hit(key, limit=self.num_requests, period=self.duration, now=self.timer())
        except SlidingWindows.Unavailable:
            return super().allow_request(request, view)
        return self._wait is None

    def wait(self):
        if getattr(self, "_wait", None) is not None:
            return self._wait
        return super().wait()


class PrincipalRateThrottle(_SettingsRateThrottle):
    """A rate per API client or officer (across processes in the services mode); anonymous
    callers are counted by address."""

    scope = "principal"

    def get_cache_key(self, request, view):
        if isinstance(request.user, Principal):
            ident = request.user.pk
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenLoginThrottle(_SettingsRateThrottle):
    """Password guessing through POST /api/v1/auth/token/ is limited per address."""

    scope = "token_login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
