"""Webhook subscriptions of API clients, and the log of every delivery to them.

Exchange layer of `sharing` (docs/architecture.md, "Layers"). Rules live in sharing.webhooks.services;
these models hold data and constraints.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from coordination.models import ApiClient


class Subscription(models.Model):
    """A city system's receiver: where to POST which events, signed with the subscription's secret.

    The secret is not stored: it is derived from WEBHOOK_SIGNING_KEY and `secret_salt`
    (sharing.webhooks.signing), because signing needs the secret itself (a one-way hash would
    not do) and a copy of the database alone must not let anyone forge deliveries.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text=_('Event names, "domain.*" or "*".'))
    filters = models.JSONField(default=dict, blank=True,
                               help_text=_("categories, level_at_least, jurisdictions, as the stream's filter."))
    is_active = models.BooleanField(default=True)
    secret_salt = models.CharField(max_length=64)
    previous_secret_salt = models.CharField(max_length=64, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id", "created_at"]
        indexes = [models.Index(fields=["is_active", "client"], name="webhook_sub_active")]

    def __str__(self):
        return f"{self.client} → {self.url}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for its (next) attempt
    SENDING = "sending", _("Sending")  # claimed by a worker
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")  # a permanent error, or out of attempts
    CANCELLED = "cancelled", _("Cancelled")  # its subscription was disabled or deleted


class Delivery(models.Model):
    """One event for one subscription: written before the first attempt, updated after each.

    Unique per subscription and event, so a dispatch batch delivered again (a killed worker)
    adds nothing. The body is fixed when the row is written: every attempt sends the same
    bytes, and the receiver deduplicates on `seq` (or the Liandong-Delivery header).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event_seq = models.BigIntegerField()
    event_name = models.CharField(max_length=64)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    history = models.JSONField(default=list, blank=True, help_text=_("One entry per attempt."))
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_seq"], name="webhook_delivery_once"),
            models.CheckConstraint(condition=models.Q(state__in=DeliveryState.values), name="webhook_delivery_state"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(state="pending"), name="webhook_due"),
            models.Index(fields=["claimed_at"], condition=models.Q(state="sending"), name="webhook_claimed"),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_log"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"#{self.event_seq} → {self.subscription_id} ({self.state})"
