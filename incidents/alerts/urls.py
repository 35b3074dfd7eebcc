"""The public feed's URLs, mounted at /feeds/ (config/urls.py); the API's are in api/urls.py."""

from django.urls import path

from incidents.alerts import feeds

urlpatterns = [
    path("alerts.atom", feeds.alert_feed, name="alert-feed"),
    path("alerts/<uuid:alert_id>.cap", feeds.public_cap_document, name="alert-public-cap"),
]
