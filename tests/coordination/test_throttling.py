"""The rate limit per API client or officer: at most N requests in any window of the period,
a 429 with Retry-After beyond it; counted across processes in Redis (atomically), by the
cache's history without Redis or while it does not answer."""

import threading

import pytest
from django.db import connection

from coordination import throttling
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def rate(settings):
    def set_rate(value: str) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "principal": value}}

    throttling.windows.reset()
    yield set_rate
    throttling.windows.reset()


def test_it_refuses_a_principal_past_its_rate_with_retry_after(api_as, rate):
    rate("3/min")
    shenzhen, dongguan = api_as(SHENZHEN), api_as(DONGGUAN)
    statuses = [shenzhen.get("/api/v1/clusters/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = shenzhen.get("/api/v1/clusters/")
    assert refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert dongguan.get("/api/v1/clusters/").status_code == 200  # a rate of its own


def test_a_refused_request_is_not_counted(api_as, rate, redis_url):
    import redis

    rate("2/min")
    client = api_as(SHENZHEN)
    assert [client.get("/api/v1/clusters/").status_code for _ in range(6)] == [200, 200, 429, 429, 429, 429]
    store = redis.Redis.from_url(redis_url)
    try:
        [key] = store.keys("liandong:throttle_principal_*")
        assert store.zcard(key) == 2 and 0 < store.ttl(key) <= 60
    finally:
        store.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_in_other_processes_never_pass_the_limit_together(api_as, rate, redis_url):
    """Each thread stands for a server process: its own database connection, the same Redis."""
    rate("10/min")
    client = api_as(SHENZHEN)
    token = client.token
    statuses: list[int] = []
    lock = threading.Lock()

    def requests():
        from rest_framework.test import APIClient

        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            for _ in range(6):
                status = own.get("/api/v1/clusters/").status_code
                with lock:
                    statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=requests) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 10 and statuses.count(429) == 20


def test_it_goes_on_limiting_while_redis_does_not_answer(api_as, rate, redis_url, settings):
    rate("3/min")
    client = api_as(SHENZHEN)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    throttling.windows.reset()
    statuses = [client.get("/api/v1/clusters/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
