"""What crosses a border: sharing agreements and the event log (the outbox).

Lower layer of `sharing` (docs/architecture.md, "Layers"): imports only coordination's registry. The
stream, webhooks, inventories and mutual aid are upper-layer sub-packages.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from coordination.models import Cluster, CoordinationBody, Jurisdiction


class Level(models.TextChoices):
    """PRC Emergency Response Law levels; I is the most severe."""

    I = "I", _("I (particularly serious, red)")  # noqa: E741 (the law's own name)
    II = "II", _("II (serious, orange)")
    III = "III", _("III (relatively serious, yellow)")
    IV = "IV", _("IV (general, blue)")


LEVEL_RANK = {"I": 1, "II": 2, "III": 3, "IV": 4}


def levels_at_least(level: str) -> list[str]:
    """"At least III" is III, II or I."""
    return [name for name, rank in LEVEL_RANK.items() if rank <= LEVEL_RANK[level]]


class DataKind(models.TextChoices):
    """What sharing agreements name (and the cluster default covers in part)."""

    INCIDENTS = "incidents", _("Incidents")
    SITREPS = "sitreps", _("Situation reports")
    RESOURCES = "resources", _("Resources")
    CONTACTS = "contacts", _("Contacts")


class PublicationKind(models.TextChoices):
    """Data whose audience the visibility rule fixes by itself: agreements do not name these.

    Public alerts are for anyone (CAP scope Public, status Actual: what the public feed
    publishes), so every principal sees them, as a stranger would; drafts are not issued yet,
    so their owner alone sees them (sharing.visibility).
    """

    PUBLIC_ALERTS = "public_alerts", _("Public alerts")
    DRAFTS = "drafts", _("Drafts")


# Every data kind an event (or any subject the rule judges) can be.
SUBJECT_DATA_KINDS: tuple[str, ...] = (*DataKind.values, *PublicationKind.values)


class SharingAgreement(models.Model):
    """A grant from one jurisdiction (the grantor) to others, widening the cluster default.

    The cluster default (docs/api.md, "Visibility") is not a row: it is the rule every cluster has.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="agreements")
    grantor = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="agreements_granted")
    grantees = models.ManyToManyField(Jurisdiction, related_name="agreements_received")
    data_kinds = models.JSONField(default=list, help_text=_("Subset of incidents, sitreps, resources, contacts."))
    categories = models.JSONField(default=list, blank=True, help_text=_("Empty: every category."))
    level_at_least = models.CharField(max_length=3, choices=Level.choices, default=Level.IV)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    withheld_fields = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="agreement_valid_dates_ordered",
            ),
        ]

    def __str__(self):
        return self.name


class Event(models.Model):
    """One row per change others care about, written in the same transaction as the change.

    `seq` is not taken at insert: numbers drawn from a sequence while transactions run
    concurrently are not in commit order, and a reader trusting `seq > cursor` would skip an
    event that commits a moment later. Rows are inserted with `seq` NULL; the sequencer
    (sharing.eventlog.sequence_pending), one at a time under a lock, numbers committed rows
    in a transaction of its own. So a row becomes readable only with its number, and every
    number handed out is above every number already readable.

    The visibility facts (cluster, owner, jurisdictions, level, category, data kind) are
    copied onto the row so that readers decide without loading the subject.
    """

    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    name = models.CharField(max_length=64)
    at = models.DateTimeField()
    cluster = models.CharField(max_length=16, blank=True)
    owner = models.CharField(max_length=6, blank=True, help_text=_("The jurisdiction the subject belongs to."))
    # ",440300,441900," — a delimited string so "concerns X" is a plain LIKE on SQLite and PostgreSQL.
    jurisdictions = models.TextField(blank=True)
    level = models.CharField(max_length=3, blank=True)
    category = models.CharField(max_length=32, blank=True)
    data_kind = models.CharField(max_length=16, choices=DataKind.choices + PublicationKind.choices,
                                 default=DataKind.INCIDENTS)
    exercise = models.BooleanField(default=False)
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    # The facts of the data the subject refers to, and the payload's keys taken from it (a
    # mutual-aid request's incident): sharing.eventlog.about_column, Facts.about.
    about = models.JSONField(null=True, blank=True)
    sequenced_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["seq", "cluster"], name="event_seq_cluster"),
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="event_unsequenced"),
            models.Index(
                fields=["seq"], condition=models.Q(dispatched_at__isnull=True, seq__isnull=False),
                name="event_undispatched",
            ),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.name}"

    @property
    def jurisdiction_codes(self) -> list[str]:
        return [code for code in self.jurisdictions.split(",") if code]


class SequenceCounter(models.Model):
    """The sequencer's lock and high-water mark: a single row, locked while numbering."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self):
        return f"last seq {self.last_seq}"


class AddressedToBody(models.Model):
    """An incident addressed to a coordination body (an escalation to the cluster committee): an
    officer seated on the body is among those the incident concerns (sharing.visibility.addressed,
    `concerned`), whatever its level.

    Whoever addresses a body writes the row in the same transaction (the playbook engine, when
    an escalation reaches the cluster committee: sharing.services.address_to_body). It lives in
    this layer, beside the rule that reads it, so the rule asks nothing of a layer above (issue
    18: no hidden upward call). The incident is named by its public id, as the event log names
    its subjects: incidents sit a layer above.
    """

    incident = models.CharField(max_length=32)  # its public id
    body = models.ForeignKey(CoordinationBody, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()  # when it was first addressed to the body

    class Meta:
        constraints = [
            # One row per incident and body, however many stages or runs address it; its index
            # (incident first) serves both reads: an incident's bodies, and "addressed to one of mine".
            models.UniqueConstraint(fields=["incident", "body"], name="addressed_to_body_once"),
        ]

    def __str__(self):
        return f"{self.incident} → {self.body_id}"
