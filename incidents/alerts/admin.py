"""Alerts in the admin: to look at, never to edit. They arrive through POST /api/v1/cap/ or are
issued from incidents (the services check, audit and emit the events), and a record of a
message received or issued is not something to retouch by hand."""

from django.contrib import admin

from incidents.alerts.models import Alert, AlertArea, AlertInfo, AlertJurisdiction, AlertReference


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InfoInline(_ReadOnly, admin.StackedInline):
    model = AlertInfo
    extra = 0
    fields = ["position", "language", "categories", "event", "urgency", "severity", "certainty", "headline",
              "effective", "onset", "expires", "sender_name", "contact"]


class ReferenceInline(_ReadOnly, admin.TabularInline):
    model = AlertReference
    extra = 0
    fields = ["position", "sender", "identifier", "sent"]


class AffectedInline(_ReadOnly, admin.TabularInline):
    model = AlertJurisdiction
    extra = 0
    fields = ["jurisdiction"]


@admin.register(Alert)
class AlertAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["identifier", "sender", "sent", "msg_type", "status", "scope", "state", "signature", "owner",
                    "level"]
    list_filter = ["state", "origin", "msg_type", "status", "scope", "signature", "exercise", "owner"]
    search_fields = ["identifier", "sender"]
    date_hierarchy = "sent"
    exclude = ["document"]
    readonly_fields = ["received_document"]
    inlines = [InfoInline, ReferenceInline, AffectedInline]

    @admin.display(description="Document as received (or as issued)")
    def received_document(self, alert):
        return bytes(alert.document).decode("utf-8", errors="replace")


@admin.register(AlertArea)
class AlertAreaAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["info", "position", "area_desc"]
    search_fields = ["area_desc"]
