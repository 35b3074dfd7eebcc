"""Notifications in the admin, read-only: a row is the outbox's record of a message, moved only by
the pipeline (coordination.notify.services and .sending); an edit here would bypass its lifecycle and claims,
and could send a message twice or never. Addresses are personal data and are not listed."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from coordination.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "jurisdiction", "recipient", "channel", "state", "attempts", "error_code",
                    "queued_at", "sent_at", "delivered_at", "acknowledged_at"]
    list_filter = ["state", "channel", "reason"]
    search_fields = ["incident__public_id", "recipient__username", "provider_id"]
    exclude = ["address"]
    list_select_related = ["incident", "recipient"]
