"""Incidents in the admin: for looking, not for editing. Every change to an incident must go
through incidents.services (event, audit, version), so the admin offers none."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from incidents.models import AffectedJurisdiction, Incident, SituationReport, TimelineEntry


class AffectedInline(ReadOnlyAdmin, admin.TabularInline):
    model = AffectedJurisdiction
    fields = ["jurisdiction", "added_manually", "added_by"]
    extra = 0


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["public_id", "title", "category", "type", "level", "status", "reporting_jurisdiction",
                    "cross_border", "exercise", "updated_at"]
    list_filter = ["status", "level", "category", "exercise", "cross_border", "cluster"]
    search_fields = ["public_id", "title", "external_id"]
    inlines = [AffectedInline]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "kind", "at", "author", "author_jurisdiction", "status"]
    list_filter = ["kind"]


@admin.register(SituationReport)
class SituationReportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "jurisdiction", "period_start", "period_end", "exercise", "version"]
    list_filter = ["exercise"]
