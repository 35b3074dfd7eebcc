from rest_framework.routers import SimpleRouter

from coordination.workflows.api import views

router = SimpleRouter()
router.register("playbooks", views.PlaybookViewSet, basename="playbook")
router.register("workflow-runs", views.WorkflowRunViewSet, basename="workflow-run")
router.register("acknowledgements", views.AcknowledgementViewSet, basename="acknowledgement")
router.register("escalations", views.EscalationViewSet, basename="escalation")
router.register("joint-commands", views.JointCommandViewSet, basename="joint-command")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("meetings", views.MeetingViewSet, basename="meeting")

urlpatterns = router.urls
