from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Public alerts and CAP 1.2 (import, export, the Atom feed); the CAP library is `cap/`."""

    name = "incidents.alerts"
    label = "alerts"
    verbose_name = "Alerts"
