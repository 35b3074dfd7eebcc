"""Incidents in the admin: for looking, not for editing. Every change to an incident must go
through incidents.services (event, audit, version), so the admin offers none."""

from django.contrib import admin

from incidents.models import AffectedJurisdiction, Incident, SituationReport, TimelineEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AffectedInline(admin.TabularInline):
    model = AffectedJurisdiction
    fields = ["jurisdiction", "added_manually", "added_by"]
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "title", "category", "type", "level", "status", "reporting_jurisdiction",
                    "cross_border", "exercise", "updated_at"]
    list_filter = ["status", "level", "category", "exercise", "cross_border", "cluster"]
    search_fields = ["public_id", "title", "external_id"]
    inlines = [AffectedInline]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "at", "author", "author_jurisdiction", "status"]
    list_filter = ["kind"]


@admin.register(SituationReport)
class SituationReportAdmin(ReadOnlyAdmin):
    list_display = ["incident", "jurisdiction", "period_start", "period_end", "exercise", "version"]
    list_filter = ["exercise"]
