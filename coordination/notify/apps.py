from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "coordination.notify"
    label = "notify"
    verbose_name = "Coordination: notifications"
