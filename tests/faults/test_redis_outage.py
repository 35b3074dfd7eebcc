"""Redis dies under a running deployment (our private redis-server, kill -9, no persistence) and
comes back empty: writes still succeed (the events wait in the log), /readyz names what is
down, and when Redis is back the stream and the webhooks catch up with every event, once."""

import json
import time

import pytest

from tests.conftest import DONGGUAN, SHENZHEN
from tests.faults.conftest import StreamReader, compare, eventually, record, visible_seqs
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def report(n: int) -> dict:
    return {"title": f"Landslide on the Dongguan border {n}", "category": "natural_disaster", "type": "landslide",
            "level": "II", "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.62, "lon": 114.05}}


def test_writes_go_on_without_redis_and_the_stream_and_webhooks_catch_up(stack):
    _, port = stack.server()
    worker = stack.worker("worker", beat=True, supervised=True)
    receiver = Receiver()
    reader = StreamReader([port], stack.tokens[DONGGUAN], name="dongguan")
    try:
        with stack.client(port, DONGGUAN) as dongguan:
            created = dongguan.post("/api/v1/webhook-subscriptions/", json={"url": receiver.url,
                                                                            "events": ["incident.*"]})
            assert created.status_code == 201, created.text
        reader.start()
        assert reader.connected.wait(15), stack.logs()
        accepted, failed_writes = [], []
        with stack.client(port, SHENZHEN) as shenzhen:
            for n in range(2):
                response = shenzhen.post("/api/v1/incidents/", json=report(n))
                assert response.status_code == 201, response.text
                accepted.append(response.json()["id"])
            receiver.wait_for(2, timeout=30)

            stack.redis.kill()
            down_at = time.monotonic()
            for n in range(2, 14):
                response = shenzhen.post("/api/v1/incidents/", json=report(n))
                if response.status_code == 201:
                    accepted.append(response.json()["id"])
                else:
                    failed_writes.append((response.status_code, response.text[:300]))
            write_seconds = time.monotonic() - down_at
            ready = shenzhen.get("/readyz")
            assert ready.status_code == 503, ready.text
            checks = ready.json()["checks"]
            assert checks["database"] == "ok"
            assert checks["channel_layer"].startswith("down") and checks["celery_broker"].startswith("down")
            assert "channel_layer" in ready.json()["detail"]
            undispatched = stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL")
            time.sleep(2)  # the outage lasts: the hub, the worker and beat keep failing meanwhile

            stack.redis.start()  # empty: queued tasks and every subscription are gone
            back = time.monotonic()
            eventually(lambda: shenzhen.get("/readyz").status_code == 200, timeout=20, what="ready again")
            eventually(lambda: stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL") == 0,
                       timeout=40, what="every event dispatched after Redis came back", stack=stack)
            for n in range(14, 16):
                response = shenzhen.post("/api/v1/incidents/", json=report(n))
                assert response.status_code == 201, response.text
                accepted.append(response.json()["id"])
            eventually(lambda: stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL") == 0,
                       timeout=20, what="the last events dispatched", stack=stack)

        expected = visible_seqs(port, stack.tokens[DONGGUAN], reader.baseline)
        eventually(lambda: len(reader.seqs) >= len(expected), timeout=30, what="the subscriber caught up",
                   stack=stack)
        stream_caught_up = time.monotonic() - back
        expected_hooks = [seq for seq, name in stack.sql("SELECT seq, name FROM sharing_event WHERE seq IS NOT NULL")
                          if name.startswith("incident.")]
        eventually(lambda: len({json.loads(body)["seq"] for _, body in receiver.requests}) >= len(expected_hooks),
                   timeout=40, what="every webhook delivered", stack=stack)
        reader.stop()
        stream = compare(expected, reader.seqs)
        delivered = [json.loads(body)["seq"] for _, body in receiver.requests]
        hooks = compare(sorted(expected_hooks), sorted(set(delivered)))
        hooks["repeated_attempts"] = len(delivered) - len(set(delivered))
        per_event = stack.sql("SELECT count(*) FROM webhooks_delivery GROUP BY event_seq HAVING count(*) > 1")
        restarts = worker.log.read_bytes().count(b"supervisor: worker exited")
        record("Redis killed", writes_accepted_without_redis=f"{12 - len(failed_writes)}/12",
               write_seconds=round(write_seconds, 1), undispatched_while_down=undispatched,
               stream_caught_up_in_s=round(stream_caught_up, 1), worker_restarts_by_supervisor=restarts,
               stream=stream, webhooks=hooks)
        assert failed_writes == []
        assert undispatched >= 12  # stored, waiting for Redis
        assert stream["lost"] == stream["duplicates"] == stream["unexpected"] == stream["disorder"] == 0, stream
        assert hooks["lost"] == hooks["unexpected"] == 0 and per_event == [], hooks
        assert stream["expected"] >= len(accepted)
    finally:
        reader.stop()
        receiver.close()
