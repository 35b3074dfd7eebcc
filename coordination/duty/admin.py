"""Duty rosters in the admin: a roster with its shifts and overrides inline, read-only.

Shifts and overrides are written through coordination.duty.services (the API, the calendar
import, the demo), which check who may stand on the roster and that shifts do not overlap,
under the roster's lock, and write the audit entry; an edit here would skip all of that. The
roster itself (its owner and name) is a registry fact an administrator may add here.
"""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from coordination.duty.models import Override, Roster, Shift


class ShiftInline(ReadOnlyAdmin, admin.TabularInline):
    model = Shift
    fields = ["uid", "starts_at", "ends_at", "primary", "backup_names", "note"]
    readonly_fields = fields
    extra = 0
    ordering = ["-starts_at"]

    @admin.display(description="backups")
    def backup_names(self, shift):
        return ", ".join(backup.user.username for backup in shift.backups.select_related("user"))


class OverrideInline(ReadOnlyAdmin, admin.TabularInline):
    model = Override
    fields = ["starts_at", "ends_at", "replaced", "substitute", "reason", "note"]
    readonly_fields = fields
    extra = 0
    ordering = ["-starts_at"]


@admin.register(Roster)
class RosterAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "jurisdiction", "body", "created_at"]
    list_filter = ["body"]
    search_fields = ["name", "jurisdiction__code", "jurisdiction__name_zh", "body__code"]
    inlines = [ShiftInline, OverrideInline]

    def get_readonly_fields(self, request, obj=None):
        # The owner is fixed once the roster has shifts: they were checked against it.
        return ["jurisdiction", "body"] if obj is not None else []
