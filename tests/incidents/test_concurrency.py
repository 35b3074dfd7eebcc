"""Idempotency under concurrent retries, on PostgreSQL with real parallel requests: the
database's unique constraint makes one incident, the others answer with it."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from incidents.models import Incident, SituationReport
from sharing.models import Event
from tests.conftest import SHENZHEN
from tests.incidents.conftest import report_body

pytestmark = [pytest.mark.django_db(transaction=True)]


def in_parallel(n: int, call) -> list:
    """Runs call(i) in n threads released together; each thread has its own connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = call(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def client_for(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_identical_concurrent_reports_make_one_incident(postgres, credentials):
    token = credentials.token(SHENZHEN)
    body = report_body(external_id="retry-storm")
    responses = in_parallel(8, lambda i: client_for(token).post("/api/v1/incidents/", body, format="json"))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [201], [r.content[:200] for r in responses]
    assert Incident.objects.count() == 1
    assert len({response.json()["id"] for response in responses}) == 1
    assert Event.objects.filter(name="incident.created").count() == 1
    assert not Event.objects.filter(name="incident.updated").exists()  # the retries changed nothing


def test_overlapping_concurrent_bulks_neither_duplicate_nor_deadlock(postgres, credentials):
    token = credentials.token(SHENZHEN)
    keys = [f"k{n}" for n in range(60)]

    def bulk(i):
        # each request sends the same keys in a different order
        ordered = keys[i * 7:] + keys[: i * 7]
        return client_for(token).post("/api/v1/incidents/bulk/", [report_body(external_id=k) for k in ordered],
                                      format="json")

    responses = in_parallel(4, bulk)
    assert all(response.status_code == 200 for response in responses), [r.content[:300] for r in responses]
    assert Incident.objects.count() == 60
    assert sum(response.json()["created"] for response in responses) == 60


def test_concurrent_first_situation_reports_for_a_period_make_one(postgres, credentials):
    token = credentials.token(SHENZHEN)
    incident = client_for(token).post("/api/v1/incidents/", report_body(), format="json").json()
    body = {"period_start": "2026-01-01T08:00:00+08:00", "period_end": "2026-01-01T12:00:00+08:00",
            "figures": {"evacuated": 10}}
    responses = in_parallel(
        6, lambda i: client_for(token).post(f"/api/v1/incidents/{incident['id']}/sitreps/", body, format="json")
    )
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert SituationReport.objects.count() == 1
