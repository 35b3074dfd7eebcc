"""The Celery app (`celery -A config worker`, `celery -A config beat`).

Routes and the beat schedule sit together here so what runs when is read in one place.
Periodic tasks are the safety nets of the design: whatever a lost broker message or a killed
worker left undone, the next sweep finds in the database and does.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("liandong")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Events whose dispatch request was lost (broker down, worker killed) go out within this.
    "relay-events": {"task": "sharing.tasks.relay_events", "schedule": 5.0},
    "prune-events": {"task": "sharing.tasks.prune_events", "schedule": 3600.0},
}
