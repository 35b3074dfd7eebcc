from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.alerts.api import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")

urlpatterns = [
    path("cap/", views.CapImportApi.as_view(), name="cap-import"),
    *router.urls,
]
