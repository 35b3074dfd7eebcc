"""Notifications: one row per recipient and channel, written in the transaction of what causes it.

Layer 5 (docs/architecture.md, "Layers"). The row is the outbox (docs/notifications.md): it is
written with the acknowledgement request it announces, so a request that rolls back reaches
nobody and one that commits reaches everyone it must, whatever happens to the broker; Celery
only carries the work of sending it. What a row says is rendered when it is sent, from its
reason code and parameters, in its recipient's language (rendering.py), never stored as text.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.notify.lifecycle import Reason, State
from coordination.people.models import Channel


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="notifications")
    acknowledgement = models.ForeignKey(
        "workflows.Acknowledgement", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications",
        help_text=_("The request the message asks the recipient to acknowledge."))
    reason = models.CharField(max_length=32, choices=Reason.choices)
    params = models.JSONField(default=dict, blank=True, help_text=_("What the message is rendered from."))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # Whom the recipient is reached for: a jurisdiction (the one asked), or a coordination body.
    jurisdiction = models.ForeignKey("coordination.Jurisdiction", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    body = models.ForeignKey("coordination.CoordinationBody", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    contact = models.ForeignKey("people.ContactMethod", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="notifications")
    # The address as it was when the row was written (a contact edited later does not change
    # where a message went; personal data: shown only as coordination.people allows).
    address = models.TextField()
    rank = models.PositiveSmallIntegerField(default=0, help_text=_("The recipient's place on duty: 0 the primary."))
    position = models.PositiveSmallIntegerField(default=0, help_text=_("The channel's place in the recipient's plan."))
    not_before = models.DateTimeField(help_text=_("Not sent before this (the plan's wait, or a retry's backoff)."))
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    provider_id = models.CharField(max_length=200, blank=True, help_text=_("The provider's id (its receipts name it)."))
    # A worker's claim while it sends: past it, the worker is taken to have died mid-send.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set just before the provider is called: a worker that dies after this may have sent it.
    handed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "rank", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=State.values), name="notification_state_known"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="notification_channel_known"),
        ]
        indexes = [
            # Due rows: queued and past not_before (the sweep and every claim read this), and
            # leases that expired (a worker that died mid-send).
            models.Index(fields=["not_before"], condition=Q(state="queued"), name="notification_due"),
            models.Index(fields=["lease_until"], condition=Q(state="sending"), name="notification_leased"),
            # A recipient's next channel for one request (failover), and cancelling a request's rows.
            models.Index(fields=["acknowledgement", "recipient", "position"], name="notification_plan"),
            # Delivery receipts name the provider's id.
            models.Index(fields=["channel", "provider_id"], condition=~Q(provider_id=""),
                         name="notification_provider_id"),
        ]

    def __str__(self):
        return f"{self.channel} to {self.recipient_id} for {self.incident_id} {self.state}"
