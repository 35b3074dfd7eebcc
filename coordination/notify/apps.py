from celery.signals import worker_process_init
from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "coordination.notify"
    label = "notify"
    verbose_name = "Coordination: notifications"

    def ready(self):
        # Each Celery worker process builds its providers' TLS context as it starts, not while
        # the first incident's messages wait (coordination/notify/providers/registry.py).
        worker_process_init.connect(_prepare_providers, dispatch_uid="notify.prepare_providers")


def _prepare_providers(**kwargs) -> None:
    from coordination.notify.providers.registry import prepare_providers

    prepare_providers()
