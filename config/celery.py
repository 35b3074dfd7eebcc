"""The Celery app (`celery -A config worker`, `celery -A config beat`).

Routes and the beat schedule sit together here so what runs when is read in one place.
Periodic tasks are the safety nets of the design: whatever a lost broker message or a killed
worker left undone, the next sweep finds in the database and does.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402 (needs DJANGO_SETTINGS_MODULE set above)

from config.startup import freeze_startup_objects  # noqa: E402

app = Celery("liandong")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Events whose dispatch request was lost (broker down, worker killed) go out within this.
    "relay-events": {"task": "sharing.tasks.relay_events", "schedule": 5.0},
    "prune-events": {"task": "sharing.tasks.prune_events", "schedule": 3600.0},
    # Webhook attempts that are due and were not taken (a lost task, a killed worker, a retry
    # wait too long for a countdown) go out within this.
    "sweep-webhooks": {"task": "sharing.webhooks.tasks.sweep", "schedule": 10.0},
    # The delivery log keeps WEBHOOK_DELIVERY_RETENTION_DAYS; older finished rows go.
    "prune-webhook-deliveries": {"task": "sharing.webhooks.tasks.prune", "schedule": 3600.0},
    # Playbook steps and acknowledgement deadlines whose countdown task was lost (a flushed
    # Redis, a killed worker) or never sent (far ahead) run within this (docs/playbooks.md: ≤ 10 s).
    "sweep-workflows": {"task": "coordination.workflows.tasks.sweep", "schedule": settings.WORKFLOW_SWEEP_SECONDS},
    # The auditor: due work still undone long after (a sweep that is not running, a step that
    # keeps failing) becomes a workflow.stalled event and an error log line.
    "audit-workflows": {"task": "coordination.workflows.tasks.audit", "schedule": settings.WORKFLOW_AUDIT_SECONDS},
    # Notifications due and not taken (a lost send task, a worker killed mid-send, a person's
    # next channel whose wait ran out) go out within this (docs/notifications.md).
    "sweep-notifications": {"task": "coordination.notify.tasks.sweep", "schedule": 10.0},
}


@worker_process_init.connect
def _freeze_startup_objects(**kwargs) -> None:
    """Each pool process, once it has imported the tasks (config.startup says why). What an app
    prepares in each process it connects itself (coordination/notify/apps.py)."""
    freeze_startup_objects(with_urls=False)
