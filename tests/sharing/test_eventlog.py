import random
import threading
import time

import pytest
from django.db import connection, transaction

from sharing.eventlog import Subject, emit_event, events_after, newest_seq, sequence_pending
from sharing.events import InvalidPayload, UnknownEvent
from sharing.models import Event
from tests.conftest import SHENZHEN

SUBJECT = Subject(type="agreement", id="a1", cluster="GBA", owner=SHENZHEN, jurisdictions=["441900"],
                  data_kind="incidents")


def payload(n=0):
    return {"id": f"a{n}", "name": "n", "cluster": "GBA", "grantor": SHENZHEN, "grantees": [], "data_kinds": [],
            "categories": [], "level_at_least": "IV", "valid_from": None, "valid_until": None,
            "withheld_fields": [], "is_active": True}


@pytest.mark.django_db
def test_it_writes_events_unnumbered_until_the_sequencer_runs():
    with transaction.atomic():
        event = emit_event("agreement.created", subject=SUBJECT, payload=payload())
    event.refresh_from_db()
    assert event.seq is None
    assert event.jurisdictions == ",440300,441900,"
    assert sequence_pending() == 1
    event.refresh_from_db()
    assert event.seq == newest_seq() >= 1


@pytest.mark.django_db(transaction=True)
def test_it_refuses_events_outside_a_transaction():
    with pytest.raises(RuntimeError):
        emit_event("agreement.created", subject=SUBJECT, payload=payload())


@pytest.mark.django_db
def test_it_refuses_unknown_events_and_drifting_payloads():
    with transaction.atomic():
        with pytest.raises(UnknownEvent):
            emit_event("no.such.event", subject=SUBJECT, payload={})
        with pytest.raises(InvalidPayload):
            emit_event("agreement.created", subject=SUBJECT, payload={**payload(), "surprise": 1})


@pytest.mark.django_db
def test_events_are_numbered_in_insertion_order_and_read_in_seq_order():
    with transaction.atomic():
        for n in range(5):
            emit_event("agreement.created", subject=SUBJECT, payload=payload(n))
    sequence_pending()
    events = list(events_after(since=0, limit=100))
    assert [e.payload["id"] for e in events] == [f"a{n}" for n in range(5)]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_make_a_reader_skip_an_event(postgres):
    """The trap docs/architecture.md describes ("The event log"): with writers committing out of
    order, a reader that trusts `seq > cursor` must still see every event exactly once."""
    writers, per_writer = 8, 25
    stop = threading.Event()
    sequencer_done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(w):
        try:
            for n in range(per_writer):
                with transaction.atomic():
                    emit_event("agreement.created", subject=SUBJECT, payload=payload(w * 1000 + n))
                    time.sleep(random.uniform(0, 0.004))  # commit late, after later inserts
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sequencer():
        try:
            while not stop.is_set():
                sequence_pending()
                time.sleep(0.001)
            sequence_pending()
        except BaseException as exc:
            errors.append(exc)
        finally:
            sequencer_done.set()
            connection.close()

    def reader():
        cursor = 0
        try:
            while True:
                done = sequencer_done.is_set()
                for event in events_after(since=cursor, limit=1000):
                    seen.append(event.seq)
                    cursor = event.seq
                if done and cursor == newest_seq():
                    break
                time.sleep(0.001)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    helpers = [threading.Thread(target=sequencer), threading.Thread(target=reader)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in helpers:
        t.join(timeout=60)
    assert not errors, errors
    assert len(seen) == writers * per_writer
    assert seen == sorted(set(seen))
    assert Event.objects.count() == writers * per_writer


@pytest.mark.django_db(transaction=True)
def test_a_transaction_asks_for_one_dispatch_however_many_events_it_wrote(monkeypatch):
    from sharing import eventlog

    requests = []
    monkeypatch.setattr(eventlog.current_app, "send_task", lambda name, *a, **k: requests.append(name))
    with transaction.atomic():
        for n in range(5):
            emit_event("agreement.created", subject=SUBJECT, payload=payload(n))
    assert requests == [eventlog.DISPATCH_TASK]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_does_not_swallow_the_dispatch_request(monkeypatch):
    from sharing import eventlog

    requests = []
    monkeypatch.setattr(eventlog.current_app, "send_task", lambda name, *a, **k: requests.append(name))
    with transaction.atomic():
        try:
            with transaction.atomic():
                emit_event("agreement.created", subject=SUBJECT, payload=payload(1))
                raise ValueError("undo the savepoint")
        except ValueError:
            pass
        emit_event("agreement.created", subject=SUBJECT, payload=payload(2))
    assert requests == [eventlog.DISPATCH_TASK]
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_dispatch_waits_in_the_queue_at_a_time(monkeypatch):
    from sharing import eventlog

    requests = []
    monkeypatch.setattr(eventlog.current_app, "send_task", lambda name, *a, **k: requests.append(name))
    monkeypatch.setattr(eventlog, "DISPATCH_MARK_SECONDS", 1)
    for n in range(3):  # three commits while the first request waits: it will find all three
        committed(n)
    assert requests == [eventlog.DISPATCH_TASK]
    eventlog.dispatch_starting()  # the task starts: what commits from now on asks again
    committed(3)
    committed(4)
    assert requests == [eventlog.DISPATCH_TASK] * 2
    time.sleep(1.2)  # that task was lost: the mark lapses and a commit asks again
    committed(5)
    assert requests == [eventlog.DISPATCH_TASK] * 3


def committed(n: int) -> None:
    with transaction.atomic():
        emit_event("agreement.created", subject=SUBJECT, payload=payload(n))
