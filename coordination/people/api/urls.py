"""/api/v1/people/…: an officer's contact methods and notification policy (docs/people.md)."""

from django.urls import path

from coordination.people.api import views

urlpatterns = [
    path("people/me/contact-methods/", views.MyContactMethods.as_view(), name="my-contact-methods"),
    path("people/me/contact-methods/order/", views.MyContactOrder.as_view(), name="my-contact-methods-order"),
    path("people/me/contact-methods/<int:pk>/", views.MyContactMethod.as_view(), name="my-contact-method"),
    path("people/me/notification-policy/", views.MyNotificationPolicy.as_view(), name="my-notification-policy"),
    path("people/<int:user_id>/contact-methods/", views.OfficerContactMethods.as_view(),
         name="officer-contact-methods"),
]
