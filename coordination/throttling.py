"""Rate limits per API client or officer, and the login budget: per address and per account,
shared by the API's token endpoint and the web form (login_attempt).

Every limit reads the caller's address one way, coordination.authentication.client_ip (which
trusts X-Forwarded-For only under TRUST_X_FORWARDED_FOR): DRF's own get_ident took a forged
X-Forwarded-For as the address, and each forged value was a fresh login budget.

DRF's SimpleRateThrottle keeps each caller's history as a list in the cache: a read and a
write per request, the whole list pickled both ways (thousands of timestamps for a busy city
system), and two requests at once in different processes can both read the list before
either writes it back. In the services mode the same sliding window is a Redis sorted set
updated by one script: one round trip, atomic across processes, the same rule (at most N
requests in any window of the period). In the embedded mode (one process, a local-memory
cache), and while Redis does not answer (config/cache.py), a history as DRF keeps it, in the
cache, does it.
"""

import hashlib
import logging
import os
import threading
import time
import unicodedata

import redis
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from coordination.authentication import client_ip
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


def window_hit(key: str, *, limit: int, period: int) -> float | None:
    """Count a request in the sliding window `key` if fewer than `limit` were made in the last
    `period` seconds: None; otherwise (not counted) the seconds to wait. In Redis when there is
    one, else in the cache (see the module's docstring)."""
    now = time.time()
    if settings.REDIS_URL:
        try:
            return windows.hit(key, limit=limit, period=period, now=now)
        except SlidingWindows.Unavailable:
            pass
    return _cache_window_hit(key, limit=limit, period=period, now=now)


def _cache_window_hit(key: str, *, limit: int, period: int, now: float) -> float | None:
    """DRF's history of request times, newest first, kept in the cache."""
    history = [moment for moment in cache.get(key, []) if moment > now - period]
    if len(history) >= limit:
        return history[-1] + period - now
    cache.set(key, [now, *history], period)
    return None


def login_attempt(*, ip: str | None, username: str) -> float | None:
    """One attempt to log in, through the API's token endpoint or the web form alike, counted
    against its address's budget and then its account's (LOGIN_RATE_LIMIT each): None when it
    may go ahead, else the seconds to wait.

    One budget for both ways in, or a guesser has twice the guesses. The account's budget
    holds across addresses, for a guesser who has many (behind a trusted proxy, any address is
    one X-Forwarded-For away): it is counted whether or not the account exists, so it says
    nothing about which do. An attempt the address's budget refuses is not counted against the
    account."""
    rate = TokenLoginThrottle()  # the rate as the settings say now
    limit, period = rate.num_requests, rate.duration
    wait = window_hit(f"throttle_login_ip_{ip or 'unknown'}", limit=limit, period=period)
    if wait is not None:
        return wait
    return window_hit(f"throttle_login_account_{_account_key(username)}", limit=limit, period=period)


def _account_key(username: str) -> str:
    # The forms of one name that the login form reads as one (it normalises NFKC), in either
    # case: a guesser gains nothing by varying them. Hashed: any text may arrive here.
    folded = unicodedata.normalize("NFKC", username.strip()).casefold()
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from the settings at each request (DRF binds it once, at import), counts
    in Redis when there is one (window_hit), and knows the caller's address as every other
    limit does (client_ip)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self._wait = window_hit(key, limit=self.num_requests, period=self.duration)
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None)


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
    """POST /api/v1/auth/token/ spends the login budget (login_attempt), the web form's too."""

    scope = "token_login"

    def allow_request(self, request, view):
        data = request.data
        username = data.get("username") if isinstance(data, dict) else None
        self._wait = login_attempt(ip=self.get_ident(request), username=username if isinstance(username, str) else "")
        return self._wait is None
