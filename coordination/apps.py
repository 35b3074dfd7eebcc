from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination: cluster registry"

    def ready(self):
        from coordination import schema  # noqa: F401  (registers the OpenAPI auth extensions)
