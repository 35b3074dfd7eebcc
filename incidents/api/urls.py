from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api import views

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = [
    # Before the router's detail route, which would take "bulk" for an id.
    path("incidents/bulk/", views.IncidentBulkApi.as_view(), name="incident-bulk"),
    path("incident-categories/", views.IncidentCategoriesApi.as_view(), name="incident-categories"),
    *router.urls,
]
