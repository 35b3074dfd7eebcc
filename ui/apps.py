from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UiConfig(AppConfig):
    """The web UI for emergency officers: server-rendered pages, htmx fragments, our own JS."""

    name = "ui"
    verbose_name = _("Web UI")
