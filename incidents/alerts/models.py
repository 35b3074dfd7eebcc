"""Public alerts, stored as CAP 1.2 messages: the alert, its info blocks, resources and areas.

The tables follow the CAP 1.2 data dictionary (incidents.alerts.cap.model) one to one, so an
alert is exported as it was received, less what the viewer may not see. CAP's small repeated
structures (categories, response types, value pairs, polygons, circles, geocodes) are JSON
lists on their row; the parts that are read on their own (info blocks, resources, areas,
references, affected jurisdictions) are rows.

CAP date-times carry the offset they were written with ("+08:00"); the database keeps the
instant in UTC and the offset in minutes beside it (`*_offset`), so an export writes
"2024-09-05T08:00:00+08:00" back and not the same instant in another zone.

An alert stands alone (an imported warning) or is issued from an incident (`incident`, see
incidents.alerts.issuing): drafted, then approved, updated and cancelled there.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.models import Cluster, Jurisdiction
from incidents.alerts.cap.model import CERTAINTIES, MSG_TYPES, SCOPES, SEVERITIES, STATUSES, URGENCIES
from sharing.models import Level

# Identifiers and senders are xs:string in CAP, unbounded; ours are indexed and unique, so a
# bound is needed. Real ones are far shorter (the longest in the conformance corpus is 95).
MAX_IDENTIFIER_LENGTH = 255


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class AlertState(models.TextChoices):
    # An alert drafted from an incident and not approved yet: its owner alone sees it; it is
    # not on the stream, the webhooks or the public feed until it is issued (active).
    DRAFT = "draft", _("Draft (not issued yet)")
    ACTIVE = "active", _("Active")
    UPDATED = "updated", _("Updated (superseded by a later message)")
    CANCELLED = "cancelled", _("Cancelled")
    # Never stored: an active alert whose info blocks have all expired reads as expired
    # (incidents.alerts.selectors), so expiry needs no sweep and is exact to the second.
    EXPIRED = "expired", _("Expired")


STORED_STATES = (AlertState.DRAFT, AlertState.ACTIVE, AlertState.UPDATED, AlertState.CANCELLED)


class SignatureStatus(models.TextChoices):
    VERIFIED = "verified", _("Verified")
    FAILED = "failed", _("Failed")
    ABSENT = "absent", _("Absent")


class AlertOrigin(models.TextChoices):
    IMPORTED = "imported", _("Imported (POST /api/v1/cap/)")
    ISSUED = "issued", _("Issued by Liandong")


class Alert(models.Model):
    """One CAP 1.2 <alert> message, with the facts the visibility rule judges it by."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identifier = models.CharField(max_length=MAX_IDENTIFIER_LENGTH)
    sender = models.CharField(max_length=MAX_IDENTIFIER_LENGTH)
    sent = models.DateTimeField()
    sent_offset = models.SmallIntegerField(help_text=_("UTC offset of <sent> as written, in minutes."))
    status = models.CharField(max_length=16, choices=_choices(STATUSES))
    msg_type = models.CharField(max_length=16, choices=_choices(MSG_TYPES))
    source = models.TextField(blank=True)
    scope = models.CharField(max_length=16, choices=_choices(SCOPES))
    restriction = models.TextField(blank=True)
    addresses = models.JSONField(default=list, blank=True)
    codes = models.JSONField(default=list, blank=True, help_text=_("CAP <code> entries."))
    note = models.TextField(blank=True)
    cap_incidents = models.JSONField(default=list, blank=True, help_text=_("CAP <incidents>: the sender's ids."))

    # CAP status Exercise or Test: never a public alert, labelled everywhere.
    exercise = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.ACTIVE)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supersedes",
        help_text=_("The Update or Cancel that changed this alert's state."),
    )
    # The latest <expires> of the info blocks; NULL when one has none (CAP: no explicit end).
    expires = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(max_length=16, choices=SignatureStatus.choices)
    origin = models.CharField(max_length=16, choices=AlertOrigin.choices, default=AlertOrigin.IMPORTED)

    # Visibility facts (sharing.visibility): the jurisdiction that imported or issued the
    # alert owns it; the affected jurisdictions are rows (AlertJurisdiction); level and
    # category are ours, read from CAP severity and category (incidents.alerts.mapping).
    owner = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="alerts_owned")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    level = models.CharField(max_length=3, choices=Level.choices)
    category = models.CharField(max_length=32, blank=True)

    # The incident an issued alert is about (null for imported alerts, which stand alone).
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts",
    )

    # The document exactly as received (signatures cover these bytes, not our rendering); for
    # an issued alert, the document as issued.
    document = models.BinaryField()
    document_sha256 = models.CharField(max_length=64)
    imported_by = models.CharField(max_length=200, blank=True)
    drafted_by = models.CharField(max_length=200, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # A draft's language blocks as they were the last time they agreed (incidents.alerts.languages):
    # {language: fingerprint of its texts}. Empty for imported alerts (no drift is told).
    language_fingerprints = models.JSONField(
        default=dict, blank=True, help_text=_("Per language, a fingerprint of the texts as the blocks last agreed."),
    )

    class Meta:
        ordering = ["-sent", "id"]
        constraints = [
            # CAP 1.2: an identifier is unique per sender. Also what makes a repeated import
            # (or two racing ones) land once. Per owner too: a message held by one jurisdiction
            # (say, under a sender registered to the wrong one, since corrected) must not stop
            # the sender's own jurisdiction from storing its alert with that identifier.
            # Sender first, so lookups by (sender, identifier) use the index.
            models.UniqueConstraint(fields=["sender", "identifier", "owner"],
                                    name="alert_sender_identifier_owner_unique"),
            models.CheckConstraint(condition=Q(state__in=STORED_STATES), name="alert_state_stored"),
            models.CheckConstraint(condition=Q(status__in=STATUSES), name="alert_status_known"),
            models.CheckConstraint(condition=Q(msg_type__in=MSG_TYPES), name="alert_msg_type_known"),
            models.CheckConstraint(condition=Q(scope__in=SCOPES), name="alert_scope_known"),
            models.CheckConstraint(condition=Q(signature__in=SignatureStatus.values), name="alert_signature_known"),
            models.CheckConstraint(condition=Q(level__in=Level.values), name="alert_level_known"),
            models.CheckConstraint(condition=Q(sent_offset__gte=-1440, sent_offset__lte=1440),
                                   name="alert_sent_offset_range"),
        ]
        indexes = [
            # The public feed: active, Actual, Public alerts, newest first.
            models.Index(fields=["scope", "status", "state", "-sent"], name="alert_feed"),
            models.Index(fields=["-sent", "id"], name="alert_list_order"),
        ]

    def __str__(self):
        return f"{self.sender} {self.identifier} ({self.msg_type})"


class AlertInfo(models.Model):
    """An <info> block: the alert in one language."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="infos")
    position = models.PositiveIntegerField()
    language = models.TextField()
    categories = models.JSONField(default=list)
    event = models.TextField(blank=True)
    response_types = models.JSONField(default=list, blank=True)
    urgency = models.CharField(max_length=16, choices=_choices(URGENCIES))
    severity = models.CharField(max_length=16, choices=_choices(SEVERITIES))
    certainty = models.CharField(max_length=16, choices=_choices(CERTAINTIES))
    audience = models.TextField(blank=True)
    event_codes = models.JSONField(default=list, blank=True, help_text=_("[[valueName, value], …]"))
    effective = models.DateTimeField(null=True, blank=True)
    effective_offset = models.SmallIntegerField(null=True, blank=True)
    onset = models.DateTimeField(null=True, blank=True)
    onset_offset = models.SmallIntegerField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    expires_offset = models.SmallIntegerField(null=True, blank=True)
    sender_name = models.TextField(blank=True)
    headline = models.TextField(blank=True)
    description = models.TextField(blank=True)
    instruction = models.TextField(blank=True)
    web = models.TextField(blank=True)
    # A contact number: withheld from viewers whose visibility decision withholds "contacts".
    contact = models.TextField(blank=True)
    parameters = models.JSONField(default=list, blank=True, help_text=_("[[valueName, value], …]"))

    class Meta:
        ordering = ["alert", "position"]
        constraints = [models.UniqueConstraint(fields=["alert", "position"], name="alert_info_position_unique")]

    def __str__(self):
        return f"{self.alert_id} #{self.position} {self.language}"


class AlertResource(models.Model):
    """An <info>/<resource>: a file that goes with the alert (map, audio, document)."""

    info = models.ForeignKey(AlertInfo, on_delete=models.CASCADE, related_name="resources")
    position = models.PositiveIntegerField()
    resource_desc = models.TextField(blank=True)
    mime_type = models.TextField()
    size = models.BigIntegerField(null=True, blank=True)
    uri = models.TextField(blank=True)
    deref_uri = models.TextField(blank=True, help_text=_("The file itself, base64 (CAP <derefUri>)."))
    digest = models.TextField(blank=True)

    class Meta:
        ordering = ["info", "position"]
        constraints = [models.UniqueConstraint(fields=["info", "position"], name="alert_resource_position_unique")]

    def __str__(self):
        return f"{self.info_id} #{self.position} {self.mime_type}"


class AlertArea(models.Model):
    """An <info>/<area>: where the alert applies, as written (lat,lon order, kilometres)."""

    info = models.ForeignKey(AlertInfo, on_delete=models.CASCADE, related_name="areas")
    position = models.PositiveIntegerField()
    area_desc = models.TextField(blank=True)
    polygons = models.JSONField(default=list, blank=True, help_text=_("[[[lat, lon], …], …]"))
    circles = models.JSONField(default=list, blank=True, help_text=_("[[lat, lon, radius_km], …]"))
    geocodes = models.JSONField(default=list, blank=True, help_text=_("[[valueName, value], …]"))
    altitude = models.FloatField(null=True, blank=True)
    ceiling = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["info", "position"]
        constraints = [models.UniqueConstraint(fields=["info", "position"], name="alert_area_position_unique")]

    def __str__(self):
        return f"{self.info_id} #{self.position} {self.area_desc[:40]}"


class AlertReference(models.Model):
    """One entry of <references>: an earlier message this one refers to (maybe not held here).

    Rows with an index on (sender, identifier), so an alert that arrives after the Update or
    Cancel naming it finds that message at once.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveIntegerField()
    sender = models.CharField(max_length=MAX_IDENTIFIER_LENGTH)
    identifier = models.CharField(max_length=MAX_IDENTIFIER_LENGTH)
    sent = models.DateTimeField()
    sent_offset = models.SmallIntegerField()

    class Meta:
        ordering = ["alert", "position"]
        constraints = [models.UniqueConstraint(fields=["alert", "position"], name="alert_reference_position_unique")]
        indexes = [models.Index(fields=["sender", "identifier"], name="alert_reference_target")]

    def __str__(self):
        return f"{self.alert_id} → {self.sender},{self.identifier}"


class AlertJurisdiction(models.Model):
    """A jurisdiction an alert's areas touch (geometry or GB/T 2260 geocode).

    Rows, not a list on the alert, so "alerts that concern X" is an indexed lookup.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="affected")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "jurisdiction"], name="alert_affected_jurisdiction_unique"),
        ]
        indexes = [models.Index(fields=["jurisdiction", "alert"], name="alert_affected_by_jurisdiction")]

    def __str__(self):
        return f"{self.alert_id} → {self.jurisdiction_id}"


class CapSender(models.Model):
    """A CAP <sender>, or a shell pattern of senders, and the one jurisdiction whose systems
    may import alerts under it. The rule that reads these rows is incidents.alerts.senders;
    coordinators keep them (admin, API, `manage.py register_cap_sender`)."""

    # Kept in lower case: senders are compared without regard to letter case, so that
    # "EOC@HK-GOV.EXAMPLE" is not a way around "*@hk-gov.example".
    pattern = models.CharField(
        max_length=MAX_IDENTIFIER_LENGTH, unique=True,
        help_text=_("An exact sender (eoc@hk-gov.example) or a shell pattern (*@hk-gov.example)."),
    )
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="cap_senders")
    note = models.CharField(max_length=200, blank=True, help_text=_("Whose system this is, for people."))
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["jurisdiction", "pattern"]
        verbose_name = _("CAP sender")
        verbose_name_plural = _("CAP senders")

    def __str__(self):
        return f"{self.pattern} → {self.jurisdiction_id}"
