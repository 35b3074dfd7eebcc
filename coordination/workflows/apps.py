from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "coordination.workflows"
    label = "workflows"
    verbose_name = "Coordination: playbooks and joint prevention and control"
