from rest_framework.routers import SimpleRouter

from sharing.api.agreements import AgreementViewSet

router = SimpleRouter()
router.register("sharing-agreements", AgreementViewSet, basename="sharing-agreement")

urlpatterns = router.urls
