"""An ASGI server process killed (kill -9) with stream subscribers attached: each reconnects to
the other server with `since` = the last seq it saw and misses nothing it may see, gets
nothing twice, and nothing it may not see, while incidents keep being reported."""

import threading
import time

import pytest

from tests.conftest import DONGGUAN, GBA_CODES, GUANGZHOU, SHENZHEN
from tests.faults.conftest import StreamReader, compare, eventually, record, visible_seqs

pytestmark = [pytest.mark.fault, pytest.mark.slow]

TOTAL = 45
LEVELS = ["II", "III", "IV"]  # seen by every member / neighbours and core cities / few


def report(n: int) -> dict:
    return {"title": f"River flooding {n}", "category": "natural_disaster", "type": "flood", "level": LEVELS[n % 3],
            "occurred_at": "2026-07-21T08:30:00+08:00", "location": {"lat": 22.54, "lon": 114.05}}


def test_subscribers_of_a_killed_server_resume_elsewhere_and_miss_nothing(stack):
    server_a, port_a = stack.server()
    _, port_b = stack.server()
    stack.worker("worker", beat=True)
    readers = {code: StreamReader([port_a, port_b], stack.tokens[code], name=code) for code in GBA_CODES}
    for reader in readers.values():
        reader.start()
    for code, reader in readers.items():
        assert reader.connected.wait(15), f"{code} did not connect\n{stack.logs()}"

    accepted, refused = [], []

    def produce():
        with stack.client(port_b, SHENZHEN) as shenzhen:
            for n in range(TOTAL):
                response = shenzhen.post("/api/v1/incidents/", json=report(n))
                (accepted if response.status_code == 201 else refused).append(response.status_code)
                time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    eventually(lambda: len(accepted) >= TOTAL // 3, timeout=30, what="a third reported")
    server_a.kill()
    killed_at = time.monotonic()
    producer.join(timeout=60)
    eventually(lambda: stack.scalar("SELECT count(*) FROM sharing_event WHERE dispatched_at IS NULL") == 0,
               timeout=30, what="every event dispatched", stack=stack)

    results = {}
    for code, reader in readers.items():
        expected = visible_seqs(port_b, stack.tokens[code], reader.baseline)
        eventually(lambda reader=reader, expected=expected: len(reader.seqs) >= len(expected), timeout=30,
                   what=f"{code} caught up", stack=stack)
        results[code] = (reader, expected)
    resumed_in = time.monotonic() - killed_at
    totals = {"lost": 0, "duplicates": 0, "unexpected": 0, "disorder": 0}
    for code, (reader, expected) in results.items():
        reader.stop()
        counts = compare(expected, reader.seqs)
        for key in totals:
            totals[key] += counts[key]
        results[code] = (reader, counts)
    record("ASGI server killed", subscribers=len(readers), incidents_accepted=f"{len(accepted)}/{TOTAL}",
           reconnected=sum(1 for reader, _ in results.values() if reader.connections >= 2),
           events_expected=sum(c["expected"] for _, c in results.values()),
           events_received=sum(c["received"] for _, c in results.values()), all_caught_up_in_s=round(resumed_in, 1),
           **totals)
    assert refused == []
    assert all(reader.drops >= 1 and reader.connections >= 2 for reader, _ in results.values()), \
        {code: (reader.drops, reader.connections) for code, (reader, _) in results.items()}
    assert totals == {"lost": 0, "duplicates": 0, "unexpected": 0, "disorder": 0}, \
        {code: counts for code, (_, counts) in results.items()}
    # The levels reached different audiences: the rule was exercised, not only the plumbing.
    assert results[SHENZHEN][1]["expected"] > results[GUANGZHOU][1]["expected"] > 0
    assert results[DONGGUAN][1]["expected"] > 0
