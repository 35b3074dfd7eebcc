from django.urls import path
from rest_framework.routers import SimpleRouter

from coordination.duty.api import views

router = SimpleRouter()
router.register("rosters", views.RosterViewSet, basename="roster")

urlpatterns = [
    path("rosters/<int:pk>/calendar.ics", views.RosterCalendarApi.as_view(), name="roster-calendar"),
    *router.urls,
]
