from django.apps import AppConfig


class DutyConfig(AppConfig):
    name = "coordination.duty"
    label = "duty"
    verbose_name = "Coordination: duty rosters"
