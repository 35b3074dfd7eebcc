"""Celery inside the server process, for the embedded mode (no Redis, no separate worker).

A real worker (kombu's in-memory broker, a thread pool) and a real beat run as threads of
`manage.py serve`, so countdowns, retries and periodic sweeps behave as they do with Redis;
this is not `task_always_eager`. Work queued in memory is lost if the process dies, which the
design already survives: every task's state is a database row that the periodic sweeps redo.
"""

import logging
import threading

from celery.beat import EmbeddedService, Scheduler
from celery.worker import WorkController
from django.conf import settings

from config.celery import app

logger = logging.getLogger("liandong.embedded")


class EmbeddedCelery:
    def __init__(self, *, concurrency: int | None = None):
        self.concurrency = concurrency or settings.EMBEDDED_WORKER_CONCURRENCY
        self.worker: WorkController | None = None
        self.beat: EmbeddedService | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.worker = WorkController(
            app=app,
            hostname="embedded@liandong",
            pool_cls="threads",
            concurrency=self.concurrency,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            loglevel=settings.LOG_LEVEL,
        )
        self._thread = threading.Thread(target=self.worker.start, name="celery-worker", daemon=True)
        self._thread.start()
        # The plain Scheduler keeps its schedule in memory: nothing to write to disk.
        self.beat = EmbeddedService(app, thread=True, scheduler_cls=Scheduler)
        self.beat.start()
        logger.info("embedded Celery worker (%s threads) and beat started", self.concurrency)

    def stop(self) -> None:
        if self.beat is not None:
            self.beat.stop()
        if self.worker is not None:
            self.worker.stop(in_sighandler=False)
        if self._thread is not None:
            self._thread.join(timeout=10)
