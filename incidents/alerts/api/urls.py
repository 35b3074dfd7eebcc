from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.alerts.api import views
from incidents.alerts.api.senders import CapSenderViewSet

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("cap-senders", CapSenderViewSet, basename="cap-sender")

urlpatterns = [
    path("cap/", views.CapImportApi.as_view(), name="cap-import"),
    *router.urls,
]
