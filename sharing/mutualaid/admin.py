"""Mutual aid in the admin, to look at: every change goes through the API or the import command
(sharing.mutualaid.services), which keep the ledger, the thread and the events; an edit here
would bypass them, so these pages are read-only."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from sharing.mutualaid.models import Inventory, InventoryMovement, Offer, ResourceRequest, ResourceType


class MovementInline(admin.TabularInline):
    model = InventoryMovement
    fields = ["at", "kind", "quantity", "on_hand_change", "committed_change", "on_hand_after", "committed_after",
              "offer", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OfferInline(admin.TabularInline):
    model = Offer
    fields = ["jurisdiction", "inventory", "quantity", "committed_quantity", "status", "offered_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ResourceType)
class ResourceTypeAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["code", "kind", "name_zh", "name_en", "unit", "consumable"]
    list_filter = ["kind"]


@admin.register(Inventory)
class InventoryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["jurisdiction", "resource_type", "on_hand", "committed", "location_name", "external_id",
                    "updated_at"]
    list_filter = ["jurisdiction", "resource_type__kind", "resource_type"]
    search_fields = ["external_id", "location_name"]
    inlines = [MovementInline]


@admin.register(ResourceRequest)
class ResourceRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "requester", "resource_type", "quantity", "accepted_quantity", "status", "reach",
                    "needed_by", "created_at"]
    list_filter = ["status", "reach", "requester", "resource_type"]
    inlines = [OfferInline]
