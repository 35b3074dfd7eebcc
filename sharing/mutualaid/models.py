"""Resource types, inventories and their ledger, mutual-aid requests, offers (commitments once
accepted), their reimbursement and their EDXL-RM message thread.

Upper layer of `sharing` (docs/architecture.md, "Layers"): a request belongs to an incident, referred to
lazily ("incidents.Incident"). Rules live in sharing.mutualaid.services; the database keeps
the invariants that must never break, whatever the code does: no quantity below zero, never
more committed than on hand, never more accepted than requested or offered.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.models import Cluster, Jurisdiction
from sharing.mutualaid.catalogue import ResourceKind
from sharing.mutualaid.lifecycle import OfferStatus, ReimbursementStatus, RequestStatus


def _location_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(location_lat__isnull=True, location_lon__isnull=True)
            | Q(location_lat__gte=-90, location_lat__lte=90, location_lon__gte=-180, location_lon__lte=180),
            name=f"{prefix}_location_in_range",
        ),
    ]


class ResourceType(models.Model):
    """One entry of the catalogue (sharing.mutualaid.catalogue)."""

    code = models.CharField(max_length=32, primary_key=True)
    kind = models.CharField(max_length=16, choices=ResourceKind.choices)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    unit = models.CharField(max_length=16, help_text=_("A unit code of the catalogue."))
    consumable = models.BooleanField(default=False, help_text=_("Used up where it is sent; never returned."))
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ResourceKind.values), name="resource_kind_known")]

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class Inventory(models.Model):
    """A jurisdiction's stock of one resource type at one place.

    `committed` is what accepted mutual aid has reserved (until it is back home);
    `available` = `on_hand` − `committed`, never negative.
    """

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="inventories")
    resource_type = models.ForeignKey(ResourceType, on_delete=models.PROTECT, related_name="inventories")
    on_hand = models.PositiveIntegerField()
    committed = models.PositiveIntegerField(default=0)
    location_name = models.CharField(max_length=200, blank=True)
    location_lat = models.FloatField(null=True, blank=True)
    location_lon = models.FloatField(null=True, blank=True)
    # Contact numbers: withheld from other jurisdictions unless an agreement shares them.
    contacts = models.JSONField(default=list, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True,
                                   help_text=_("The city system's own id (idempotency key)."))
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["jurisdiction", "resource_type", "id"]
        verbose_name_plural = "inventories"
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(committed__gte=0), name="inventory_committed_not_negative"),
            models.CheckConstraint(condition=Q(committed__lte=F("on_hand")), name="inventory_never_over_committed"),
            # NULLs are distinct: stock sent without an external id never collides.
            models.UniqueConstraint(fields=["jurisdiction", "external_id"], name="inventory_external_id_unique"),
            *_location_constraints("inventory"),
        ]
        indexes = [models.Index(fields=["updated_at", "id"], name="inventory_sync_order")]

    def __str__(self):
        return f"{self.jurisdiction_id} {self.resource_type_id} {self.on_hand}"

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


class MovementKind(models.TextChoices):
    STOCKED = "stocked", _("Stock recorded")
    ADJUSTED = "adjusted", _("Stock adjusted")
    COMMITTED = "committed", _("Committed to mutual aid")
    UNCOMMITTED = "uncommitted", _("Commitment cancelled")
    DISPATCHED = "dispatched", _("Dispatched")
    ARRIVED = "arrived", _("Arrived at the requester")
    RELEASED = "released", _("Released by the requester")
    RETURNED = "returned", _("Returned home")
    CONSUMED = "consumed", _("Used up where it was sent")


class MovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The inventory ledger is append-only.")

    def delete(self):
        raise PermissionError("The inventory ledger is append-only.")


class InventoryMovement(models.Model):
    """The ledger: one row for every movement of quantity, with the stock it left behind."""

    inventory = models.ForeignKey(Inventory, on_delete=models.PROTECT, related_name="movements")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    quantity = models.PositiveIntegerField()
    on_hand_change = models.IntegerField(default=0)
    committed_change = models.IntegerField(default=0)
    on_hand_after = models.PositiveIntegerField()
    committed_after = models.PositiveIntegerField()
    offer = models.ForeignKey("Offer", on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    actor = models.CharField(max_length=200)
    actor_jurisdiction = models.CharField(max_length=6, blank=True)
    note = models.CharField(max_length=200, blank=True)

    objects = MovementQuerySet.as_manager()

    class Meta:
        ordering = ["inventory", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(committed_after__lte=F("on_hand_after")),
                                   name="movement_never_over_committed"),
        ]

    def __str__(self):
        return f"{self.inventory_id} {self.kind} {self.quantity}"


class Reach(models.TextChoices):
    NEIGHBOURS = "neighbours", _("The requester's neighbours")
    CLUSTER = "cluster", _("The whole cluster")


class ResourceRequest(models.Model):
    """A mutual-aid request: a jurisdiction asks for a quantity of one type for an incident."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="resource_requests")
    requester = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="resource_requests")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="resource_requests")
    resource_type = models.ForeignKey(ResourceType, on_delete=models.PROTECT, related_name="requests")
    quantity = models.PositiveIntegerField()
    accepted_quantity = models.PositiveIntegerField(default=0)
    needed_by = models.DateTimeField()
    location_name = models.CharField(max_length=200, blank=True)
    location_lat = models.FloatField(null=True, blank=True)
    location_lon = models.FloatField(null=True, blank=True)
    description = models.TextField(blank=True)
    contacts = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    reach = models.CharField(max_length=16, choices=Reach.choices, default=Reach.NEIGHBOURS)
    exercise = models.BooleanField(default=False)
    requested_by = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="request_quantity_positive"),
            models.CheckConstraint(condition=Q(accepted_quantity__lte=F("quantity")),
                                   name="request_never_over_accepted"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="request_status_known"),
            *_location_constraints("request"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.requester_id} {self.quantity} {self.resource_type_id}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.accepted_quantity


class RequestRecipient(models.Model):
    """A jurisdiction a request was sent to (and so may offer to it)."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="recipients")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    reach = models.CharField(max_length=16, choices=Reach.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "jurisdiction"]
        constraints = [models.UniqueConstraint(fields=["request", "jurisdiction"], name="recipient_unique")]

    def __str__(self):
        return f"#{self.request_id} → {self.jurisdiction_id}"


class Offer(models.Model):
    """An offer of all or part of a request from one inventory; a commitment once accepted."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.PROTECT, related_name="offers")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    inventory = models.ForeignKey(Inventory, on_delete=models.PROTECT, related_name="offers")
    quantity = models.PositiveIntegerField()
    committed_quantity = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=OfferStatus.choices, default=OfferStatus.OFFERED)
    note = models.CharField(max_length=500, blank=True)
    offered_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="offer_quantity_positive"),
            models.CheckConstraint(condition=Q(committed_quantity__lte=F("quantity")),
                                   name="offer_never_over_accepted"),
            models.CheckConstraint(condition=Q(status__in=OfferStatus.values), name="offer_status_known"),
        ]

    def __str__(self):
        return f"offer #{self.pk} of {self.jurisdiction_id} on #{self.request_id}"


class Reimbursement(models.Model):
    """What a commitment cost its supplier, and what the requester approved and paid."""

    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="reimbursement")
    status = models.CharField(max_length=16, choices=ReimbursementStatus.choices, default=ReimbursementStatus.NONE)
    currency = models.CharField(max_length=3, default="CNY")
    claimed_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    approved_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ReimbursementStatus.values),
                                   name="reimbursement_status_known"),
            models.CheckConstraint(condition=Q(claimed_amount__isnull=True) | Q(claimed_amount__gte=0),
                                   name="reimbursement_claim_not_negative"),
            models.CheckConstraint(condition=Q(approved_amount__isnull=True)
                                   | Q(approved_amount__gte=0, approved_amount__lte=F("claimed_amount")),
                                   name="reimbursement_approved_within_claim"),
            models.CheckConstraint(condition=Q(paid_amount__isnull=True)
                                   | Q(paid_amount__gte=0, paid_amount__lte=F("approved_amount")),
                                   name="reimbursement_paid_within_approval"),
        ]

    def __str__(self):
        return f"reimbursement of offer #{self.offer_id}: {self.status}"


class RequestMessage(models.Model):
    """One EDXL-RM 1.0 message of a request's thread, written when what it reports happened."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="messages")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    message_type = models.CharField(max_length=48)
    sender = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    preceding = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    deployment_status = models.CharField(max_length=32, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["request", "at", "id"]

    def __str__(self):
        return f"#{self.request_id} {self.message_type}"
