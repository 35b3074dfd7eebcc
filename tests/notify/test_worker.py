"""The pipeline with a real Celery worker and beat (PostgreSQL, Redis): the send tasks asked for
after the request commits, and beat's sweep for what was due when the broker lost them."""

import pytest
import redis

from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from tests.workflows.conftest import Workers, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def pool(tmp_path, redis_url, postgres):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    workers = Workers(tmp_path, redis_url)
    try:
        yield workers
    finally:
        workers.stop_all()
        client.flushdb()
        client.close()


def recorded_sent(pool) -> None:
    """The worker records `sent` once the server has answered, a moment after the message
    arrived there: checking the row at the arrival raced it (CI saw the row still `sending`)."""
    wait_for(lambda: Notification.objects.filter(state=State.SENT).exists(), timeout=30,
             what="the message recorded sent", workers=pool)


def test_a_worker_sends_what_the_request_committed(pool, smtp, on_duty_in_dongguan, flood, settings):
    pool.start("notify", beat=False, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(settings.EMAIL_PORT))
    flood()
    # The primary's e-mail is due now; the backup's waits for her wave (docs/notifications.md).
    wait_for(lambda: len(smtp.messages) == 1, timeout=60, what="the e-mail due now", workers=pool)
    recorded_sent(pool)
    assert [m["To"] for m in smtp.messages] == ["primary@dg.example"]
    assert Notification.objects.filter(state=State.SENT, attempts=1).count() == 1


def test_the_sweep_sends_what_a_flushed_broker_lost(pool, redis_url, smtp, on_duty_in_dongguan, flood, settings):
    flood()  # its send tasks wait in Redis, no worker is running
    assert Notification.objects.filter(state=State.QUEUED).count() == 3
    redis.Redis.from_url(redis_url).flushdb()  # …and are lost
    pool.start("beat", beat=True, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(settings.EMAIL_PORT))
    wait_for(lambda: len(smtp.messages) == 1, timeout=60, what="beat's sweep to send it", workers=pool)
    recorded_sent(pool)
    assert Notification.objects.filter(state=State.SENT).count() == 1
    assert Notification.objects.get(address="backup@dg.example").state == State.QUEUED  # the backup's wave
    assert Notification.objects.get(channel="sms").state == State.QUEUED  # its wait has not run out
