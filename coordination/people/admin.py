"""Contact methods and notification policies in the admin (an administrator may correct an
officer's, as the officer may; docs/people.md). A robot's signing secret is never shown: the
field is a password input left empty, and an empty entry keeps the secret that is stored. An
address is checked by the same contract as the API's and the UI's."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from config.errors import ValidationFailed
from coordination.people import contract
from coordination.people.models import ContactMethod, NotificationPolicy
from coordination.people.selectors import jurisdiction_of

MASK = "••••••"


class ContactMethodForm(forms.ModelForm):
    secret = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False),
                             help_text="A DingTalk or Feishu robot's signing secret. Left empty, the stored one "
                                       "stays; type a single '-' to clear it.")

    class Meta:
        model = ContactMethod
        fields = ["officer", "channel", "address", "secret", "label", "position", "wait_minutes", "active"]

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        if not channel:
            return data
        try:
            if "address" in data:
                officer = data.get("officer")
                data["address"] = contract.check_address(channel, data["address"],
                                                         jurisdiction=jurisdiction_of(officer) if officer else None)
            secret = data.get("secret") or ""
            if secret == "-":
                data["secret"] = ""
            elif secret:
                data["secret"] = contract.check_secret(channel, secret)
            else:
                data["secret"] = self.instance.secret if self.instance.pk else ""
                if data["secret"] and channel not in contract.SIGNED_CHANNELS:
                    data["secret"] = ""
        except ValidationFailed as exc:
            for field, messages in (exc.errors or {}).items():
                self.add_error(field if field in self.fields else None, ValidationError(messages))
        return data


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    form = ContactMethodForm
    list_display = ["officer", "position", "channel", "shown_address", "secret_set", "wait_minutes", "active"]
    list_filter = ["channel", "active"]
    search_fields = ["officer__username", "label"]
    ordering = ["officer", "position", "id"]
    raw_id_fields = ["officer"]

    @admin.display(description="address")
    def shown_address(self, method):
        return contract.shown_address(method.channel, method.address)

    @admin.display(description="secret")
    def secret_set(self, method):
        return MASK if method.secret else "—"


@admin.register(NotificationPolicy)
class NotificationPolicyAdmin(admin.ModelAdmin):
    list_display = ["officer", "quiet_start", "quiet_end", "time_zone", "updated_at"]
    search_fields = ["officer__username"]
    raw_id_fields = ["officer"]
