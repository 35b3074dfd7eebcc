from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination: cluster registry"

    def ready(self):
        from coordination import registry, schema  # noqa: F401  (schema registers the OpenAPI auth extensions)

        registry.connect()
