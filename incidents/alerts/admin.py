"""Alerts in the admin: to look at, never to edit. They arrive through POST /api/v1/cap/ or are
issued from incidents (the services check, audit and emit the events), and a record of a
message received or issued is not something to retouch by hand. The CAP sender registry is
kept here too, through the same services as its API and command."""

from django import forms
from django.contrib import admin, messages

from config.admin import ReadOnlyAdmin
from config.errors import ApplicationError
from coordination.authentication import principal_for_user
from incidents.alerts import senders
from incidents.alerts.models import Alert, AlertArea, AlertInfo, AlertJurisdiction, AlertReference, CapSender


class InfoInline(ReadOnlyAdmin, admin.StackedInline):
    model = AlertInfo
    extra = 0
    fields = ["position", "language", "categories", "event", "urgency", "severity", "certainty", "headline",
              "effective", "onset", "expires", "sender_name", "contact"]


class ReferenceInline(ReadOnlyAdmin, admin.TabularInline):
    model = AlertReference
    extra = 0
    fields = ["position", "sender", "identifier", "sent"]


class AffectedInline(ReadOnlyAdmin, admin.TabularInline):
    model = AlertJurisdiction
    extra = 0
    fields = ["jurisdiction"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["identifier", "sender", "sent", "msg_type", "status", "scope", "state", "signature", "owner",
                    "level"]
    list_filter = ["state", "origin", "msg_type", "status", "scope", "signature", "exercise", "owner"]
    search_fields = ["identifier", "sender"]
    date_hierarchy = "sent"
    exclude = ["document"]
    readonly_fields = ["received_document"]
    inlines = [InfoInline, ReferenceInline, AffectedInline]

    @admin.display(description="Document as received (or as issued)")
    def received_document(self, alert):
        return bytes(alert.document).decode("utf-8", errors="replace")


@admin.register(AlertArea)
class AlertAreaAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["info", "position", "area_desc"]
    search_fields = ["area_desc"]


# --- the CAP sender registry: added and removed through incidents.alerts.senders ---------------------


def _actor(request):
    """The officer behind the admin user, so coordinators are held to their own clusters;
    staff who are not officers act as the system."""
    return principal_for_user(request.user) if request.user.is_authenticated else None


class CapSenderForm(forms.ModelForm):
    class Meta:
        model = CapSender
        fields = ["pattern", "jurisdiction", "note"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["pattern"] = senders.cap_sender_check(actor=self.actor, pattern=cleaned["pattern"],
                                                          jurisdiction=cleaned["jurisdiction"].code)
        except ApplicationError as exc:
            for field, problems in (exc.errors or {"__all__": [exc.detail]}).items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(CapSender)
class CapSenderAdmin(admin.ModelAdmin):
    """A registration is added or removed, never edited: moving a sender to another
    jurisdiction is a removal and a registration, each audited."""

    form = CapSenderForm
    list_display = ["pattern", "jurisdiction", "note", "created_at", "created_by"]
    list_filter = ["jurisdiction"]
    search_fields = ["pattern", "note", "jurisdiction__code", "jurisdiction__name_zh", "jurisdiction__name_en"]
    readonly_fields = ["created_at", "created_by"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = _actor(request)
        return form

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved, _created = senders.cap_sender_register(actor=_actor(request), pattern=obj.pattern,
                                                      jurisdiction=obj.jurisdiction_id, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        senders.cap_sender_remove(actor=_actor(request), registration=obj)

    def delete_queryset(self, request, queryset):
        for registration in queryset:
            try:
                senders.cap_sender_remove(actor=_actor(request), registration=registration)
            except ApplicationError as exc:
                self.message_user(request, f"{registration}: {exc.detail}", level=messages.ERROR)
