"""The forms of "My contact methods" (issue 20): adding a method and setting quiet hours. Limits
and address rules are coordination.people.contract's, the declaration the services and the API
read too; the address is checked in the form with the officer's region (so a local Hong Kong
number is read as +852), and the service checks it again."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError
from coordination.people import contract
from coordination.people.models import Channel, MessageLanguage


def attach(form: forms.Form, exc: ApplicationError) -> None:
    """A contract's or a service's refusal next to the field it names (its message is already
    in the officer's language), anything else on top of the form."""
    for field, messages in (exc.errors or {}).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
    if not exc.errors:
        form.add_error(None, exc.detail)


ADDRESS_HELP = _("An e-mail address, a mobile number, a robot's webhook address or a browser's push subscription.")


class ContactAddForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    address = forms.CharField(label=_("Address"), max_length=contract.ADDRESS_MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 2}), help_text=ADDRESS_HELP)
    secret = forms.CharField(label=_("Signing secret (DingTalk and Feishu robots, optional)"), required=False,
                             max_length=contract.SECRET_MAX_LENGTH, widget=forms.PasswordInput(render_value=False))
    label = forms.CharField(label=_("Label (optional)"), required=False, max_length=contract.LABEL_MAX_LENGTH)
    wait_minutes = forms.IntegerField(
        label=_("Minutes to wait before the next method"), min_value=0, max_value=contract.WAIT_MINUTES_MAX,
        initial=contract.DEFAULT_WAIT_MINUTES, widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, jurisdiction: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.jurisdiction = jurisdiction

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("channel"):
            try:
                data["address"] = contract.check_address(data["channel"], data["address"],
                                                         jurisdiction=self.jurisdiction)
                data["secret"] = contract.check_secret(data["channel"], data.get("secret", ""))
            except ApplicationError as exc:
                attach(self, exc)
        return data


def _zone_choices() -> list[tuple[str, str]]:
    return [("", _("My cluster's time zone")), *((zone, zone) for zone in sorted(zoneinfo.available_timezones()))]


class QuietHoursForm(forms.Form):
    quiet_start = forms.TimeField(label=_("Quiet from"), required=False,
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(label=_("Quiet until"), required=False,
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                help_text=_("Earlier than the start: the next morning. Leave both empty for none."))
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=_zone_choices)


LANGUAGE_HELP = _("E-mails, text messages, robot and push messages are written in it. Hong Kong and Macao read Traditional Chinese by default, the rest of the cluster Simplified.")  # noqa: E501 - one msgid


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of my messages"), required=False,
        choices=[("", _("My jurisdiction's language")), *MessageLanguage.choices],
        help_text=LANGUAGE_HELP)


class PushSubscribeForm(forms.Form):
    """What ui/js/push.js posts: the browser's PushSubscription.toJSON(), and a label."""

    subscription = forms.CharField(widget=forms.HiddenInput, max_length=contract.ADDRESS_MAX_LENGTH)
    label = forms.CharField(label=_("Label (optional)"), required=False, max_length=contract.LABEL_MAX_LENGTH,
                            help_text=_("Which browser or device this is, such as “office computer”."))
