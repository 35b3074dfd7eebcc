"""Celery workers killed (kill -9, the whole process group) at random moments while playbook
runs are under way: every run completes, every step happens once in effect, and no
notification (acknowledgement request, escalation, step, webhook delivery, stream event) goes
out twice or not at all.

The runs are the shipped cross-border flood/typhoon playbook on typhoons reported by Zhuhai
through the API (level II, touching Zhongshan and Macao), with DEADLINE_SCALE small so each
two-hour plan takes seconds; nobody acknowledges, so every run also escalates along its chain.
Two workers and one beat; a killed worker is started again at once, as a supervisor would.
"""

import collections
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import MACAO, ZHUHAI
from tests.faults.conftest import StreamReader, compare, eventually, record, visible_seqs
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.fault, pytest.mark.slow]

RUNS = 6
SCALE = "0.004"  # a 30-minute deadline is 7.2 s: long enough for several kills even on a loaded machine
PEARL_ESTUARY_WEST = {"type": "Polygon", "coordinates": [[
    [113.45, 22.12], [113.58, 22.12], [113.58, 22.45], [113.45, 22.45], [113.45, 22.12],
]]}


def typhoon(n: int) -> dict:
    return {"title": f"Typhoon {n} makes landfall at Zhuhai", "category": "natural_disaster", "type": "typhoon",
            "level": "II", "occurred_at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
            "location": {"lat": 22.22, "lon": 113.50}, "affected_area": PEARL_ESTUARY_WEST}


def notification_key(name: str, payload: dict):
    """What a notification is about: two events with the same key notify the same thing twice."""
    if name.startswith("workflow.step_"):
        return payload["run"], payload["step"]["index"], name
    if name == "escalation.raised":
        return name, payload["run"], payload["acknowledgement"], payload["stage"], payload["target"]
    if name == "acknowledgement.requested":
        # Asked again with `for_body` when the request is escalated to a coordination body: the
        # body's officers are told, which is another notification, not the same one twice.
        return name, payload["id"], payload.get("for_body")
    return name, payload.get("id") or json.dumps(payload, sort_keys=True)


def start_runs(stack) -> None:
    """The runs the incidents trigger, started by the dispatcher (sharing.dispatch hands incident
    events to the playbook engine): nothing here starts them another way, so a dispatcher that
    stopped calling the engine fails this test."""
    eventually(lambda: stack.scalar("SELECT count(*) FROM workflows_workflowrun") == RUNS, timeout=30,
               what="a run per incident, started by the dispatcher", stack=stack)


def test_every_run_completes_once_in_effect_while_workers_are_killed_at_random(stack):
    seed = int(os.environ.get("FAULT_SEED") or time.time())
    chance = random.Random(seed)
    env = {"DEADLINE_SCALE": SCALE}
    _, port = stack.server(**env)
    stack.beat(**env)
    workers = {name: stack.worker(name, **env) for name in ("a", "b")}
    receiver = Receiver()
    reader = StreamReader([port], stack.tokens[MACAO], name="macao")
    kills = 0
    try:
        with stack.client(port, MACAO) as macao:
            created = macao.post("/api/v1/webhook-subscriptions/", json={
                "url": receiver.url, "events": ["workflow.*", "acknowledgement.*", "escalation.*"]})
            assert created.status_code == 201, created.text
        reader.start()
        assert reader.connected.wait(15), stack.logs()
        with stack.client(port, ZHUHAI) as zhuhai:
            for n in range(RUNS):
                response = zhuhai.post("/api/v1/incidents/", json=typhoon(n))
                assert response.status_code == 201, response.text

        def completed() -> int:
            return stack.scalar("SELECT count(*) FROM workflows_workflowrun WHERE state = 'completed'")

        # The killing starts as soon as the incidents exist, while the dispatcher is still starting
        # the runs: on a loaded machine starting six runs can take as long as the runs themselves,
        # and killing only once all had started left too few kills to mean anything (CI saw 2).
        deadline = time.monotonic() + 150
        while completed() < RUNS and time.monotonic() < deadline:
            time.sleep(chance.uniform(0.3, 2.5))
            name = chance.choice(sorted(workers))
            workers[name].kill()
            kills += 1
            workers[name] = stack.worker(name, **env)
        start_runs(stack)
        eventually(lambda: completed() == RUNS, timeout=60, what="every run completed", stack=stack)
        eventually(lambda: stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL") == 0,
                   timeout=30, what="every event dispatched", stack=stack)
        # A worker killed in the middle of a webhook attempt leaves it claimed; the sweep takes
        # it again once the claim's lease (60 s) has run out.
        eventually(lambda: stack.scalar("SELECT count(*) FROM webhooks_delivery WHERE state <> 'delivered'") == 0,
                   timeout=90, what="every webhook delivery delivered", stack=stack)

        events = stack.sql("SELECT seq, name, payload FROM sharing_event WHERE seq IS NOT NULL ORDER BY seq")
        per_key = collections.Counter(notification_key(name, payload) for _, name, payload in events
                                      if name.split(".")[0] in ("workflow", "acknowledgement", "escalation"))
        duplicate_events = sum(count - 1 for count in per_key.values())
        steps = stack.sql("SELECT state, count(*) FROM workflows_steprun GROUP BY state")
        unfinished_steps = sum(n for state, n in steps if state not in ("done", "skipped", "failed"))
        step_events = sum(1 for _, name, _ in events if name in ("workflow.step_done", "workflow.step_skipped"))
        acks = stack.scalar("SELECT count(*) FROM workflows_acknowledgement")
        escalations = stack.scalar("SELECT count(*) FROM workflows_escalation")
        names = collections.Counter(name for _, name, _ in events)
        # A request escalated to the committee is asked of the body too (`for_body`): its own event.
        for_bodies = sum(1 for _, name, payload in events if name == "acknowledgement.requested"
                         and payload.get("for_body"))
        to_bodies = stack.scalar("SELECT count(*) FROM workflows_escalation WHERE target = 'committee' "
                                 "AND target_body_id IS NOT NULL")

        expected = visible_seqs(port, stack.tokens[MACAO], reader.baseline)
        eventually(lambda: len(reader.seqs) >= len(expected), timeout=30, what="the stream caught up")
        stream = compare(expected, reader.seqs)
        wanted = [seq for seq in expected if seq in {s for s, name, _ in events
                                                     if name.split(".")[0] in ("workflow", "acknowledgement",
                                                                               "escalation")}]
        eventually(lambda: len({json.loads(b)["seq"] for _, b in receiver.requests}) >= len(wanted), timeout=30,
                   what="every notification at the receiver")
        delivered = [json.loads(body)["seq"] for _, body in receiver.requests]
        hooks = compare(sorted(wanted), sorted(set(delivered)))
        hooks["repeated_attempts"] = len(delivered) - len(set(delivered))
        record("workers killed at random", seed=seed, kills=kills,
               runs_completed=f"{completed()}/{RUNS}",
               unfinished_steps=unfinished_steps, duplicate_notifications=duplicate_events,
               acknowledgements=acks, escalations=escalations, stream=stream, webhooks=hooks)

        assert kills >= 3, "the runs finished before the workers were killed a few times"
        assert completed() == RUNS and unfinished_steps == 0
        assert duplicate_events == 0, per_key.most_common(3)
        assert step_events == stack.scalar("SELECT count(*) FROM workflows_steprun WHERE state IN ('done', 'skipped')")
        assert names["workflow.started"] == names["workflow.completed"] == RUNS
        assert names["acknowledgement.requested"] == acks + for_bodies and for_bodies == to_bodies
        assert names["escalation.raised"] == escalations
        assert stream["lost"] == stream["duplicates"] == stream["unexpected"] == stream["disorder"] == 0, stream
        assert hooks["lost"] == hooks["unexpected"] == 0, hooks
    finally:
        reader.stop()
        receiver.close()
