from django.urls import path
from rest_framework.routers import SimpleRouter

from coordination.api import views

router = SimpleRouter()
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("jurisdictions", views.JurisdictionViewSet, basename="jurisdiction")

urlpatterns = [
    path("auth/token/", views.TokenApi.as_view(), name="auth-token"),
    *router.urls,
]
