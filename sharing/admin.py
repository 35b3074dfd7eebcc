"""Sharing agreements in the admin. Every save goes through sharing.services, so an edit made
here is validated, audited and announced exactly like one made through the API."""

from django import forms
from django.contrib import admin, messages

from config.errors import ApplicationError
from coordination.authentication import principal_for_user
from coordination.models import Jurisdiction
from sharing import services
from sharing.models import DataKind, SharingAgreement
from sharing.visibility import SENSITIVE_FIELDS

TERMS = ["name", "cluster", "grantor", "grantees", "data_kinds", "categories", "level_at_least", "valid_from",
         "valid_until", "withheld_fields", "is_active"]


def _actor(request):
    """The officer behind the admin user, so coordinators are held to their own clusters;
    staff who are not officers act as the system."""
    return principal_for_user(request.user) if request.user.is_authenticated else None


class AgreementForm(forms.ModelForm):
    data_kinds = forms.MultipleChoiceField(choices=DataKind.choices, widget=forms.CheckboxSelectMultiple)
    categories = forms.MultipleChoiceField(
        choices=[(code, code) for code in services.CATEGORIES], widget=forms.CheckboxSelectMultiple,
        required=False, help_text="None ticked: every category.")
    withheld_fields = forms.MultipleChoiceField(
        choices=[(name, name) for name in sorted(SENSITIVE_FIELDS)], widget=forms.CheckboxSelectMultiple,
        required=False, initial=sorted(SENSITIVE_FIELDS), help_text="Withheld from the grantees.")
    grantees = forms.ModelMultipleChoiceField(queryset=Jurisdiction.objects.all())

    class Meta:
        model = SharingAgreement
        fields = TERMS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.terms = services.agreement_terms(actor=self.actor, **self.term_values(cleaned))
        except ApplicationError as exc:
            for field, problems in (exc.errors or {"__all__": [exc.detail]}).items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned

    @staticmethod
    def term_values(cleaned) -> dict:
        values = {name: cleaned.get(name) for name in TERMS}
        values["cluster"] = values["cluster"].code if values["cluster"] else None
        values["grantor"] = values["grantor"].code if values["grantor"] else ""
        values["grantees"] = [j.code for j in values["grantees"] or ()]
        values["categories"] = values["categories"] or []
        values["withheld_fields"] = values["withheld_fields"] or []
        return values


@admin.register(SharingAgreement)
class SharingAgreementAdmin(admin.ModelAdmin):
    form = AgreementForm
    list_display = ["name", "cluster", "grantor", "data_kinds", "level_at_least", "valid_from", "valid_until",
                    "is_active"]
    list_filter = ["cluster", "is_active", "level_at_least"]
    search_fields = ["name", "grantor__code", "grantor__name_zh", "grantor__name_en"]
    filter_horizontal = ["grantees"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["deactivate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = _actor(request)
        return form

    def save_model(self, request, obj, form, change):
        values = form.term_values(form.cleaned_data)
        if change:
            saved = services.agreement_update(actor=_actor(request), agreement=obj, **values)
        else:
            saved = services.agreement_create(actor=_actor(request), **values)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        """The service has written the grantees with the rest of the terms."""

    def has_delete_permission(self, request, obj=None):
        # Agreements are the record of what was shared with whom: they end, they do not vanish.
        return False

    @admin.action(description="Deactivate the selected agreements")
    def deactivate(self, request, queryset):
        for agreement in queryset:
            try:
                services.agreement_deactivate(actor=_actor(request), agreement=agreement)
            except ApplicationError as exc:
                self.message_user(request, f"{agreement}: {exc.detail}", level=messages.ERROR)
