"""Playbooks are edited here as in the API, through coordination.workflows.services: a bad
definition is refused with its reasons, and every save is audited. Runs and what they did are
shown read-only: the engine and the services are the only writers."""

import json

from django import forms
from django.contrib import admin

from config.admin import ReadOnlyAdmin
from config.errors import ApplicationError
from coordination.authentication import principal_for_user
from coordination.workflows.models import (
    Acknowledgement,
    Escalation,
    JointCommand,
    Meeting,
    Playbook,
    StepRun,
    Task,
    WorkflowRun,
)
from coordination.workflows.services.playbooks import playbook_create, playbook_definition_checked, playbook_update


def _actor(request):
    """The officer behind the admin user, so coordinators are held to their own clusters;
    staff who are not officers act as the system."""
    return principal_for_user(request.user) if request.user.is_authenticated else None


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)


class PlaybookForm(forms.ModelForm):
    definition = PrettyJSONField(widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
                                 help_text="Trigger, escalation windows and steps (docs/playbooks.md).")
    actor = None  # set per request by PlaybookAdmin.get_form

    class Meta:
        model = Playbook
        fields = ["code", "name_zh", "name_en", "description", "definition", "is_active"]

    def clean_definition(self):
        try:
            return playbook_definition_checked(actor=self.actor, definition=self.cleaned_data["definition"])
        except ApplicationError as exc:
            raise forms.ValidationError([f"{field}: {message}" for field, problems in (exc.errors or {}).items()
                                         for message in problems] or [exc.detail]) from None


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    form = PlaybookForm
    list_display = ["code", "name_zh", "name_en", "version", "is_active", "updated_by", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name_zh", "name_en"]
    readonly_fields = ["version", "updated_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "code"] if obj is not None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = _actor(request)
        return form

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("name_zh", "name_en", "description", "definition",
                                                           "is_active")}
        if change:
            saved = playbook_update(actor=form.actor, playbook=Playbook.objects.get(pk=obj.pk), **data)
        else:
            saved = playbook_create(actor=form.actor, code=form.cleaned_data["code"], **data)
        obj.pk, obj.version = saved.pk, saved.version


class StepInline(ReadOnlyAdmin, admin.TabularInline):
    model = StepRun
    fields = ["index", "step_id", "kind", "state", "due_at", "done_at", "attempts", "outcome", "last_error"]
    readonly_fields = fields
    extra = 0


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "playbook", "playbook_version", "state", "started_at", "finished_at"]
    list_filter = ["state", "playbook"]
    search_fields = ["incident__public_id"]
    inlines = [StepInline]


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "jurisdiction", "status", "level", "due_at", "overdue", "stage", "acknowledged_at",
                    "acknowledged_by"]
    list_filter = ["status", "overdue", "level"]
    search_fields = ["incident__public_id", "jurisdiction__code"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["incident", "stage", "subject_jurisdiction", "target", "target_jurisdiction", "target_body",
                    "raised_at"]
    list_filter = ["target"]


@admin.register(JointCommand)
class JointCommandAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["name", "incident", "lead", "status", "opened_at", "closed_at"]
    list_filter = ["status"]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["title", "incident", "assignee", "status", "due_at"]
    list_filter = ["status"]


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["title", "convener", "scheduled_at", "status", "level"]
    list_filter = ["status"]
