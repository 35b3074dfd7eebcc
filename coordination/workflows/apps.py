from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "coordination.workflows"
    label = "workflows"
    verbose_name = "Coordination: playbooks and joint prevention and control"

    def ready(self):
        # The visibility rule asks which bodies an incident was escalated to (a body's officer
        # is concerned by it: sharing.visibility.addressed); the escalations are ours.
        from sharing.visibility import register_bodies_addressed

        register_bodies_addressed(_bodies_escalated_about)


def _bodies_escalated_about(public_id: str) -> list[str]:
    from coordination.workflows.models import Escalation

    return list(Escalation.objects.filter(incident_id=public_id, target_body__isnull=False)
                .values_list("target_body_id", flat=True).distinct())
