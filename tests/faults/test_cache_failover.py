"""config.cache.FailoverRedisCache: a Redis that does not answer costs nothing but sharing
(throttles and counters hold per process meanwhile), and Redis is used again once it answers."""

import pytest

from config.cache import FailoverRedisCache
from tests.stream.conftest import free_port

pytestmark = pytest.mark.fault


def cache_at(url: str) -> FailoverRedisCache:
    return FailoverRedisCache(url, {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}})


def test_it_answers_from_process_memory_while_redis_does_not_answer():
    cache = cache_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert cache.get("missing", "default") == "default"
    assert cache.add("counter", 0, 60) is True
    assert cache.incr("counter") == 1
    assert cache.incr("counter") == 2
    cache.set("k", {"v": 1}, 60)
    assert cache.get("k") == {"v": 1}
    assert cache.get_many(["k", "nope"]) == {"k": {"v": 1}}
    with pytest.raises(ValueError):
        cache.incr("never-set")  # as Redis does: callers rely on it (sharing_changed)
    cache.delete("k")
    assert cache.get("k") is None


def test_it_does_not_wait_on_redis_again_until_the_retry_interval_passed(monkeypatch):
    cache = cache_at(f"redis://127.0.0.1:{free_port()}/0")
    calls = []
    original = FailoverRedisCache.__mro__[1].get

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FailoverRedisCache.__mro__[1], "get", counting)
    for _ in range(5):
        cache.get("x")
    assert len(calls) == 1
    cache._down_until = 0.0  # the interval passed
    cache.get("x")
    assert len(calls) == 2


def test_it_uses_redis_when_redis_answers(redis_url):
    import redis

    cache = cache_at(redis_url)
    cache.set("failover-probe", "shared", 30)
    raw = redis.Redis.from_url(redis_url)
    try:
        assert any(key.endswith(b"failover-probe") for key in raw.scan_iter("*failover-probe"))
    finally:
        cache.delete("failover-probe")
        raw.close()
