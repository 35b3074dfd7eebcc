from rest_framework.routers import SimpleRouter

from sharing.mutualaid.api import views

router = SimpleRouter()
router.register("resource-types", views.ResourceTypeViewSet, basename="resource-type")
router.register("inventories", views.InventoryViewSet, basename="inventory")
router.register("resource-requests", views.ResourceRequestViewSet, basename="resource-request")

urlpatterns = router.urls
