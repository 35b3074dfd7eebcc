"""What a server or worker process does once its application is loaded."""

import gc
from importlib import import_module


def freeze_startup_objects(*, with_urls: bool = True) -> None:
    """Leave the objects of startup out of every later garbage collection.

    A server process holds a few hundred thousand objects from startup (Django, the URLconf,
    every view and serializer) that live as long as it does, and Python's full collections
    traversed all of them each time: 65 ms per full collection in an API process, paid by one
    in three 500-report bulk requests (bench/incidents.py: mean 108 -> 90-95 ms in process).
    `gc.freeze` moves them to a generation the collector skips; their memory is never freed,
    which for these objects is no change. A Celery worker (with_urls=False: it serves no
    request) holds about 170,000 once its tasks are imported, and a full collection took
    80-90 ms, in the middle of whatever it ran then: the dispatcher's numbering and publishing
    of a stream event, say.
    """
    from django.conf import settings

    if with_urls:
        import_module(settings.ROOT_URLCONF)  # every view and serializer, imported now to be frozen too
    gc.collect()
    gc.freeze()
