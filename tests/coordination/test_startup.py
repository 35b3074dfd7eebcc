"""Long-lived processes leave their startup objects out of garbage collection (config.startup)."""

import gc

from celery.signals import worker_process_init

import config.celery  # noqa: F401 (connects the worker's signal handlers)


def test_a_celery_pool_process_freezes_its_startup_objects():
    frozen_before = gc.get_freeze_count()
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        worker_process_init.send(sender="test")  # what each pool process sends once it has started
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        if frozen_before:
            gc.freeze()
