"""People: an officer's contact methods, the order they are tried in, and when they may be
disturbed (docs/people.md).

The registry layer (docs/architecture.md, "Layers"): rows hang off the auth user (the officer).
What an address may be is coordination.people.contract; who may read and write the rows is
coordination.people.selectors and services. Contact details are personal data: they are read
through those, never through sharing agreements.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coordination.models import validate_time_zone


class Channel(models.TextChoices):
    """How a person is reached. The notification pipeline has one provider adapter per channel."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu group robot")
    WEBPUSH = "webpush", _("Browser push")


# The longest wait between two channels: past four hours a chain is no longer "the next
# channel if this one is not answered" but a different notification.
WAIT_MINUTES_MAX = 240
DEFAULT_WAIT_MINUTES = 5
# A web push subscription (endpoint URL and two keys, as JSON) is the longest address; push
# services' endpoints stay well under 1,000 characters.
ADDRESS_MAX_LENGTH = 2000


class ContactMethod(models.Model):
    """One way to reach an officer. `position` orders the officer's methods (0 first) and
    `wait_minutes` is how long the pipeline waits for an answer on this one before it tries the
    next. `secret` signs a DingTalk or Feishu robot's requests, so it is kept in clear (the
    pipeline must compute the signature); no API answer carries it and the admin masks it."""

    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.TextField(
        max_length=ADDRESS_MAX_LENGTH,
        help_text=_("An e-mail address, an E.164 number, a group robot's webhook URL, or a browser's push "
                    "subscription (JSON)."),
    )
    secret = models.CharField(max_length=200, blank=True, help_text=_("A DingTalk or Feishu robot's signing secret."))
    label = models.CharField(max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    wait_minutes = models.PositiveSmallIntegerField(default=DEFAULT_WAIT_MINUTES)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["officer", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["officer", "channel", "address"], name="contact_method_once"),
            models.CheckConstraint(condition=Q(wait_minutes__lte=WAIT_MINUTES_MAX), name="contact_method_wait_range"),
        ]
        indexes = [models.Index(fields=["officer", "position"], name="contact_method_order")]

    def __str__(self):
        return f"{self.officer_id} #{self.position} {self.channel}"


class MessageLanguage(models.TextChoices):
    """The languages a notification is written in: the UI's three (config.settings.LANGUAGES)."""

    ZH_HANS = "zh-hans", _("Simplified Chinese")
    ZH_HANT = "zh-hant", _("Traditional Chinese")
    EN = "en", _("English")


class NotificationPolicy(models.Model):
    """An officer's quiet hours and the language of their messages (optional, at most one row
    per officer): from `quiet_start` to `quiet_end` (local times in `time_zone`, across midnight
    when the end is earlier) only urgent notifications reach them at once; the others wait until
    the quiet hours end (coordination.people.contract.is_urgent says which are urgent). An empty
    time zone is the officer's cluster's; an empty language their jurisdiction's."""

    officer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="notification_policy")
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    # The language every notification to this officer is written in (docs/people.md, "Language");
    # empty: their jurisdiction's (Traditional Chinese for Hong Kong and Macao, else Simplified).
    language = models.CharField(max_length=8, blank=True, choices=MessageLanguage.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="notification_policy_quiet_both_or_neither",
            ),
        ]

    def __str__(self):
        return f"{self.officer_id}: {self.quiet_start}–{self.quiet_end} {self.time_zone}"
