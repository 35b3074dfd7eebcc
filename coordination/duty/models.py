"""Duty rosters: shifts with a primary and ordered backups, and overrides (docs/rosters.md).

The registry layer (docs/architecture.md, "Layers"): a roster belongs to a jurisdiction or to a
coordination body, and names officers. Who is on duty at a moment is one rule,
coordination.duty.selectors.on_duty; the checks on a write are coordination.duty.services.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from coordination.models import CoordinationBody, Jurisdiction


class Roster(models.Model):
    """The duty roster of one owner: a jurisdiction or a coordination body, never both; at most
    one roster per owner, so that "who is on duty for X" has one answer."""

    name = models.CharField(max_length=200, blank=True)
    jurisdiction = models.OneToOneField(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="roster")
    body = models.OneToOneField(CoordinationBody, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="roster")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(jurisdiction__isnull=False, body__isnull=True) | Q(jurisdiction__isnull=True,
                                                                               body__isnull=False),
                name="roster_one_owner",
            ),
        ]

    def __str__(self):
        return self.name or f"{self.owner_kind} {self.owner_code}"

    @property
    def owner_kind(self) -> str:
        return "jurisdiction" if self.jurisdiction_id else "body"

    @property
    def owner_code(self) -> str:
        return self.jurisdiction_id or self.body_id


class Shift(models.Model):
    """A span of duty [starts_at, ends_at): one primary and backups in order. Shifts of one
    roster never overlap (services.shift_save refuses it). `uid` is the iCalendar UID, stable
    for the shift's life, so an export imported again updates instead of duplicating."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="shifts")
    uid = models.CharField(max_length=255)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    primary = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="primary_shifts")
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["roster", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "uid"], name="shift_uid_once_per_roster"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
        ]
        indexes = [models.Index(fields=["roster", "starts_at", "ends_at"], name="shift_span")]

    def __str__(self):
        return f"{self.roster} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class ShiftBackup(models.Model):
    """A backup of a shift; `position` 1 is called first after the primary."""

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="backups")
    position = models.PositiveSmallIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="backup_shifts")

    class Meta:
        ordering = ["shift", "position"]
        constraints = [
            models.UniqueConstraint(fields=["shift", "position"], name="shift_backup_position_once"),
            models.UniqueConstraint(fields=["shift", "user"], name="shift_backup_user_once"),
        ]

    def __str__(self):
        return f"{self.user} ({self.position})"


class Override(models.Model):
    """`substitute` takes `replaced`'s place, in whatever position they hold, for
    [starts_at, ends_at). A swap of two shifts is two overrides (A for B in B's span, B for A
    in A's), written together by services.swap_record, each with the reason "swap"."""

    class Reason(models.TextChoices):
        OVERRIDE = "override", _("Override")
        SWAP = "swap", _("Swap")

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    replaced = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    substitute = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.OVERRIDE)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["roster", "starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="override_ends_after_start"),
            models.CheckConstraint(condition=~Q(replaced=F("substitute")), name="override_someone_else"),
        ]

    def __str__(self):
        return f"{self.substitute} for {self.replaced} ({self.starts_at:%Y-%m-%d %H:%M})"
