"""PostgreSQL stops under a running deployment (our private cluster, `pg_ctl stop -m immediate`):
writes answer 503 problem details, /readyz names the database, and when it is back the same
processes serve again by themselves; nothing accepted before or after is lost."""

import time

import pytest

from tests.conftest import DONGGUAN, SHENZHEN
from tests.faults.conftest import METRICS_TOKEN, StreamReader, compare, eventually, record, visible_seqs

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def report(n: int, **extra) -> dict:
    return {"title": f"Flooding at the Shenzhen River {n}", "category": "natural_disaster", "type": "flood",
            "level": "II", "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.54, "lon": 114.1},
            **extra}


def writes_during_outage(incident_id: str) -> list[tuple[str, str, dict]]:
    """One of each kind of write a city system makes, all of which need the database."""
    return [
        ("post", "/api/v1/incidents/", report(900)),
        ("post", "/api/v1/incidents/", report(901, external_id="outage-901")),
        ("post", "/api/v1/incidents/bulk/", [report(902), report(903)]),
        ("patch", f"/api/v1/incidents/{incident_id}/", {"description": "water still rising"}),
        ("post", f"/api/v1/incidents/{incident_id}/updates/", {"text": "pumps deployed"}),
        ("post", f"/api/v1/incidents/{incident_id}/transition/", {"status": "verified"}),
        ("post", "/api/v1/webhook-subscriptions/", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    ]


def test_writes_answer_503_while_the_database_is_down_and_recover_by_themselves(stack):
    _, port = stack.server()
    stack.worker("worker", beat=True)
    reader = StreamReader([port], stack.tokens[DONGGUAN], name="dongguan")
    reader.start()
    assert reader.connected.wait(15), stack.logs()
    accepted = []
    with stack.client(port, SHENZHEN) as shenzhen:
        for n in range(3):
            response = shenzhen.post("/api/v1/incidents/", json=report(n))
            assert response.status_code == 201, response.text
            accepted.append(response.json()["id"])

        stack.postgres.stop("immediate")
        answers = []
        for method, path, body in writes_during_outage(accepted[0]):
            response = getattr(shenzhen, method)(path, json=body)
            answers.append((path, response))
        refused_properly = [path for path, r in answers if r.status_code == 503
                            and r.headers["content-type"].startswith("application/problem+json")
                            and r.json()["status"] == 503 and r.headers.get("retry-after")]
        assert len(refused_properly) == len(answers), [(p, r.status_code, r.text[:200]) for p, r in answers]
        assert all(r.json()["type"] == "/problems/database-unavailable" for _, r in answers)

        ready = shenzhen.get("/readyz")
        assert ready.status_code == 503 and ready.headers["content-type"].startswith("application/problem+json")
        assert ready.json()["checks"]["database"].startswith("down")
        assert ready.json()["checks"]["channel_layer"] == "ok" and "database" in ready.json()["detail"]
        assert shenzhen.get("/healthz").status_code == 200  # alive, only not ready
        metrics = shenzhen.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200 and "liandong_database_up 0.0" in metrics.text

        time.sleep(2)  # the outage lasts: the pool and the worker keep failing meanwhile
        stack.postgres.start()
        back = time.monotonic()

        def write_succeeds():
            response = shenzhen.post("/api/v1/incidents/", json=report(len(accepted) + 10))
            if response.status_code == 201:
                accepted.append(response.json()["id"])
                return True
            assert response.status_code == 503, response.text
            return False

        eventually(write_succeeds, timeout=30, what="a write succeeding after the database came back", stack=stack)
        recovery = time.monotonic() - back
        assert shenzhen.get("/readyz").status_code == 200
        for n in range(3):
            response = shenzhen.post("/api/v1/incidents/", json=report(100 + n))
            assert response.status_code == 201, response.text
            accepted.append(response.json()["id"])

    stored = {row[0] for row in stack.sql("SELECT public_id FROM incidents_incident")}
    eventually(lambda: stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL") == 0,
               timeout=30, what="every event dispatched", stack=stack)
    expected = visible_seqs(port, stack.tokens[DONGGUAN], reader.baseline)
    eventually(lambda: len(reader.seqs) >= len(expected), timeout=20, what="the subscriber caught up")
    reader.stop()
    counts = compare(expected, reader.seqs)
    record("PostgreSQL stopped", writes_refused_with_503=f"{len(refused_properly)}/{len(answers)}",
           recovered_in_s=round(recovery, 1), incidents_accepted=len(accepted),
           incidents_lost=len(set(accepted) - stored), stream=counts)
    assert set(accepted) <= stored
    assert counts["lost"] == counts["duplicates"] == counts["unexpected"] == counts["disorder"] == 0, counts
    assert counts["expected"] >= len(accepted)
