from django.urls import path
from rest_framework.routers import SimpleRouter

from coordination.notify.api import callbacks, views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls + [
    # Provider callbacks (docs/providers.md): authenticated by the provider's signature, not a token.
    path("notify/callbacks/sms-gateway/receipts/", callbacks.GatewayReceiptView.as_view(),
         name="notify-gateway-receipt"),
    path("notify/callbacks/sms-gateway/replies/", callbacks.GatewayReplyView.as_view(),
         name="notify-gateway-reply"),
    path("notify/callbacks/tencent-sms/<str:token>/receipts/", callbacks.TencentReceiptsView.as_view(),
         name="notify-tencent-receipts"),
    path("notify/callbacks/tencent-sms/<str:token>/replies/", callbacks.TencentReplyView.as_view(),
         name="notify-tencent-reply"),
]
