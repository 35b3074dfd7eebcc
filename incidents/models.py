"""Incidents, the jurisdictions they affect, their timeline and situation reports.

Layer 3 (docs/architecture.md, "Layers"): imports the registry and the sharing policy below it, never
the exchange or the workflows above. Rules live in incidents.services; a model here holds
data, constraints and single-row properties only.
"""

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.models import ApiClient, Cluster, Jurisdiction
from incidents.catalogue import Category
from incidents.lifecycle import Status
from sharing.models import Level

PUBLIC_ID_PATTERN = re.compile(r"^INC-\d{4}-\d{6,}$")


def public_id_for(*, year: int, pk: int) -> str:
    """`INC-2026-000123`: the year it was reported and its number (never reused, never changes)."""
    return f"INC-{year:04d}-{pk:06d}"


def public_id_sql(*, year: str, pk: str) -> str:
    """`public_id_for` as a PostgreSQL expression over the SQL expressions `year` and `pk`.

    The bulk intake (incidents.intake, PostgreSQL) names each incident inside the statement that
    inserts it, where the pk is drawn. Step for step: the year zero-padded to 4 digits (years are
    1 to 9999, a datetime's range, so lpad never cuts), the pk zero-padded to at least 6 and
    never cut (`{pk:06d}` widens, lpad would truncate to 6). tests/incidents/test_public_id.py
    holds the two to the same ids.
    """
    return (f"'INC-' || lpad({year}::text, 4, '0') || '-' || "
            f"lpad({pk}::text, greatest(6, length({pk}::text)), '0')")


# Every report writes these rows, so each index on them is paid on every write: the indexes
# are the ones reads use, and foreign keys that no read filters on have none.


class Incident(models.Model):
    public_id = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=32, choices=Category.choices)
    type = models.CharField(max_length=32, help_text=_("A type of the category (incidents.catalogue)."))
    level = models.CharField(max_length=3, choices=Level.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    occurred_at = models.DateTimeField()
    location_lat = models.FloatField()
    location_lon = models.FloatField()
    affected_area = models.JSONField(
        null=True, blank=True, help_text=_('GeoJSON Polygon or MultiPolygon, or {"circle": {lat, lon, radius_m}}.')
    )
    # Looked up through the (reporting_jurisdiction, external_id) unique index.
    reporting_jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="incidents", db_index=False
    )
    cluster = models.ForeignKey(
        Cluster, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents", db_index=False,
        help_text=_("The reporter's cluster whose boundaries placed the incident."),
    )
    cross_border = models.BooleanField(default=False)
    deaths = models.PositiveIntegerField(default=0)
    injured = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    evacuated = models.PositiveIntegerField(default=0)
    # Personal data of casualties and contact numbers: withheld from other jurisdictions
    # (sharing.visibility.SENSITIVE_FIELDS) unless an agreement shares them.
    casualty_details = models.JSONField(default=list, blank=True)
    contacts = models.JSONField(default=list, blank=True)
    external_id = models.CharField(
        max_length=100, null=True, blank=True, help_text=_("The reporting system's own id (idempotency key).")
    )
    exercise = models.BooleanField(
        default=False, help_text=_("A drill (演练): labelled everywhere, never in real figures.")
    )
    version = models.PositiveIntegerField(default=1)
    reported_by = models.CharField(max_length=200)
    reported_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    reported_by_client = models.ForeignKey(
        ApiClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["updated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="incident_public_id_unique"),
            # Idempotency of reports (docs/api.md, "Incidents"): one incident per reporter and external id. NULLs
            # are distinct, so reports without an external id never collide.
            models.UniqueConstraint(
                fields=["reporting_jurisdiction", "external_id"], name="incident_external_id_unique"
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="incident_status_known"),
            models.CheckConstraint(condition=Q(level__in=Level.values), name="incident_level_known"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="incident_category_known"),
            models.CheckConstraint(condition=Q(location_lat__gte=-90, location_lat__lte=90), name="incident_lat_range"),
            models.CheckConstraint(
                condition=Q(location_lon__gte=-180, location_lon__lte=180), name="incident_lon_range"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="incident_version_positive"),
        ]
        indexes = [
            # The list's order and its sync cursor (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="incident_sync_order"),
        ]

    def __str__(self):
        return f"{self.public_id} {self.title}"

    @property
    def casualties(self) -> dict[str, int]:
        return {"deaths": self.deaths, "injured": self.injured, "missing": self.missing, "evacuated": self.evacuated}


class AffectedJurisdiction(models.Model):
    """One jurisdiction an incident affects: computed from its geometry, or added by hand.

    Rows, not a list on the incident, so "incidents that concern X" is an indexed lookup.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected", db_index=False)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+", db_index=False)
    added_manually = models.BooleanField(default=False)
    added_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            # Also the index of "does this incident affect X" (the visibility rule's join).
            models.UniqueConstraint(fields=["incident", "jurisdiction"], name="affected_jurisdiction_unique"),
        ]
        indexes = [
            # "Which incidents affect X" (the jurisdiction filter), answered from the index alone.
            models.Index(fields=["jurisdiction", "incident"], name="affected_by_jurisdiction"),
        ]

    def __str__(self):
        return f"{self.incident_id} → {self.jurisdiction_id}"


class TimelineKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    UPDATE = "update", _("Update")
    STATUS_CHANGED = "status_changed", _("Status changed")
    JURISDICTION_ADDED = "jurisdiction_added", _("Jurisdiction added")
    # Written by other apps through incidents.services.incident_timeline_record.
    ALERT = "alert", _("Public alert")
    MUTUAL_AID = "mutual_aid", _("Mutual aid")
    WORKFLOW = "workflow", _("Playbook")


class TimelineEntry(models.Model):
    """What happened to an incident, in order: its report, updates and every status change."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=32, choices=TimelineKind.choices)
    at = models.DateTimeField(default=timezone.now)
    author = models.CharField(max_length=200)
    author_jurisdiction = models.CharField(max_length=6)
    text = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    previous_status = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, blank=True)
    # What an entry written by another app refers to, for links: {"alert": "<uuid>"}. The
    # database default too, for writers that insert rows in SQL of their own (the benchmark).
    data = models.JSONField(default=dict, db_default=models.Value({}, output_field=models.JSONField()), blank=True)

    class Meta:
        ordering = ["incident", "at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.incident_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class SituationReport(models.Model):
    """A jurisdiction's situation report (态势报告) on an incident for one operational period."""

    FIGURES = ("deaths", "injured", "missing", "evacuated", "shelters_open", "resources_deployed")

    # Both looked up through the one-per-period unique index.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="sitreps", db_index=False)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+", db_index=False)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    deaths = models.PositiveIntegerField(default=0)
    injured = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    evacuated = models.PositiveIntegerField(default=0)
    shelters_open = models.PositiveIntegerField(default=0)
    resources_deployed = models.PositiveIntegerField(default=0)
    needs = models.TextField(blank=True)
    text = models.TextField(blank=True)
    exercise = models.BooleanField(default=False)
    author = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "jurisdiction", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "jurisdiction", "period_start"], name="sitrep_one_per_period"
            ),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="sitrep_period_ordered"),
        ]

    def __str__(self):
        return f"{self.incident_id} {self.jurisdiction_id} {self.period_start:%Y-%m-%d %H:%M}"

    @property
    def figures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIGURES}
