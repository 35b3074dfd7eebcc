"""The cluster registry: who the jurisdictions are, how they hang together, who acts for them.

This is the bottom layer (docs/architecture.md, "Layers"): it imports nothing of ours above config.
Workflow models (playbooks, runs, acknowledgements) live in coordination.workflows.
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

cluster_code_validator = RegexValidator(r"^[A-Z][A-Z0-9]{1,15}$", _("Upper-case letters and digits, 2–16 long."))
division_code_validator = RegexValidator(r"^[1-9]\d{5}$", _("A GB/T 2260 code: six digits."))


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class Cluster(models.Model):
    """A city cluster (城市群), e.g. GBA. The code is the natural key used everywhere."""

    code = models.CharField(max_length=16, primary_key=True, validators=[cluster_code_validator])
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    # The name in Traditional Chinese as Hong Kong and Macao write it (廣州市, 香港特別行政區);
    # empty: a Traditional reader reads name_zh.
    name_zh_hant = models.CharField(max_length=100, blank=True, default="")
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[validate_time_zone])

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class JurisdictionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    PREFECTURE = "prefecture", _("Prefecture-level city")
    DISTRICT = "district", _("District or county")
    SAR = "sar", _("Special administrative region")


class BoundarySource(models.TextChoices):
    NONE = "none", _("No boundary")
    APPROXIMATE = "approximate", _("Approximate (demo data)")
    IMPORTED = "imported", _("Imported")


class MetropolitanCircle(models.Model):
    """A metropolitan circle (都市圈) inside a cluster, e.g. 广佛肇, led by one city."""

    code = models.CharField(max_length=16, primary_key=True, validators=[cluster_code_validator])
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="circles")
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    lead = models.ForeignKey(
        "Jurisdiction", on_delete=models.SET_NULL, null=True, blank=True, related_name="led_circles",
        help_text=_("The city escalations within the circle go to."),
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class Jurisdiction(models.Model):
    """A city, SAR, district or province, identified by its GB/T 2260 code."""

    code = models.CharField(max_length=6, primary_key=True, validators=[division_code_validator])
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    # The name in Traditional Chinese as Hong Kong and Macao write it (廣州市, 香港特別行政區);
    # empty: a Traditional reader reads name_zh.
    name_zh_hant = models.CharField(max_length=100, blank=True, default="")
    level = models.CharField(max_length=16, choices=JurisdictionLevel.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    clusters = models.ManyToManyField(Cluster, related_name="jurisdictions", blank=True)
    circle = models.ForeignKey(
        MetropolitanCircle, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    is_core = models.BooleanField(default=False, help_text=_("A core city (中心城市) of its cluster."))
    centroid_lat = models.FloatField(null=True, blank=True)
    centroid_lon = models.FloatField(null=True, blank=True)
    boundary = models.JSONField(null=True, blank=True, help_text=_("GeoJSON Polygon or MultiPolygon, WGS84."))
    boundary_source = models.CharField(max_length=16, choices=BoundarySource.choices, default=BoundarySource.NONE)
    boundary_updated_at = models.DateTimeField(null=True, blank=True)
    # Symmetric: adding Shenzhen to Dongguan's neighbours adds Dongguan to Shenzhen's.
    neighbours = models.ManyToManyField("self", symmetrical=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(centroid_lat__isnull=True) | models.Q(centroid_lat__gte=-90, centroid_lat__lte=90),
                name="jurisdiction_centroid_lat_range",
            ),
            models.CheckConstraint(
                condition=models.Q(centroid_lon__isnull=True)
                | models.Q(centroid_lon__gte=-180, centroid_lon__lte=180),
                name="jurisdiction_centroid_lon_range",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class CoordinationBodyKind(models.TextChoices):
    COMMITTEE = "committee", _("Cluster committee")
    JOINT_CONFERENCE = "joint_conference", _("Joint conference")


class CoordinationBody(models.Model):
    """A standing body jurisdictions coordinate through: the cluster committee, joint conferences."""

    code = models.CharField(max_length=32, primary_key=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="bodies")
    kind = models.CharField(max_length=32, choices=CoordinationBodyKind.choices)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    # The name in Traditional Chinese as Hong Kong and Macao write it (廣州市, 香港特別行政區);
    # empty: a Traditional reader reads name_zh.
    name_zh_hant = models.CharField(max_length=100, blank=True, default="")
    members = models.ManyToManyField(Jurisdiction, related_name="bodies", blank=True)
    convener = models.ForeignKey(
        Jurisdiction, on_delete=models.SET_NULL, null=True, blank=True, related_name="convened_bodies"
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "coordination bodies"

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class Role(models.TextChoices):
    """Officer roles, weakest first; what each may do is coordination.roles' table."""

    VIEWER = "viewer", _("Viewer")
    OPERATOR = "operator", _("Operator")
    COMMANDER = "commander", _("Commander")
    COORDINATOR = "coordinator", _("Coordinator")


class Membership(models.Model):
    """An officer: a Django user acting for one jurisdiction in one role."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    def __str__(self):
        return f"{self.user} @ {self.jurisdiction_id} ({self.role})"


class BodyMembership(models.Model):
    """An officer who sits on a coordination body (the cluster committee, a circle's joint
    conference) and acts for it: what is escalated to the body is in their list of what is
    owed, and they acknowledge it on the body's behalf (docs/playbooks.md, "Escalation").
    The officer keeps their own jurisdiction and role (Membership); a body's officers may come
    from several jurisdictions, including ones that are not among its member jurisdictions
    (a province's officer on the cluster committee)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="body_memberships")
    body = models.ForeignKey(CoordinationBody, on_delete=models.CASCADE, related_name="officer_memberships")
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["body", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "body"], name="body_membership_once")]

    def __str__(self):
        return f"{self.user} in {self.body_id}"


class ApiClient(models.Model):
    """A city system's credential holder: acts for one jurisdiction within its scopes."""

    name = models.CharField(max_length=100)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="api_clients")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "name"], name="api_client_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.jurisdiction_id})"


class AccessToken(models.Model):
    """A bearer token, for an API client or for an officer (POST /api/v1/auth/token/).

    Only a SHA-256 digest of the token is stored: the tokens are 256-bit random strings, so
    a fast hash is enough to make a stolen database useless for logging in. The prefix lets
    an operator tell tokens apart without revealing them.
    """

    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="access_tokens"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(client__isnull=False, user__isnull=True)
                | models.Q(client__isnull=True, user__isnull=False),
                name="access_token_one_holder",
            ),
        ]

    def __str__(self):
        return f"{self.prefix}… ({'client' if self.client_id else 'officer'})"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who did or read what, when, from where. Append-only from the application."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    client = models.ForeignKey(ApiClient, on_delete=models.SET_NULL, null=True, blank=True)
    actor = models.CharField(max_length=200, help_text=_("Who, as shown when the entry was written."))
    actor_jurisdiction = models.CharField(max_length=6, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_jurisdiction = models.CharField(max_length=6, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")
