"""Input and output serializers of the coordination API. Output serializers read rows the
selectors loaded (with their related rows prefetched); input serializers only shape what the
caller sent, with the limits of the workflows' input contract (coordination.workflows.contract,
which the web UI's forms read too); the services judge it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.serializers import InstantField, StrictInput
from coordination.workflows import contract
from coordination.workflows.models import (
    Acknowledgement,
    AgendaItem,
    Decision,
    Escalation,
    JointCommand,
    JointCommandLogEntry,
    Meeting,
    Playbook,
    StepRun,
    Task,
    TaskStatus,
    WorkflowRun,
    from_codes,
)


class Input(StrictInput):
    """An input serializer that refuses keys it does not know, as every API input does
    (config.serializers.StrictInput): a misspelt field is an error that names itself, not a
    change silently not made; the OpenAPI document says so (additionalProperties: false)."""


class Codes(serializers.ListField):
    child = serializers.CharField(max_length=contract.JURISDICTION_CODE_LENGTH)

    def __init__(self, **kwargs):
        # A keyword, not a class attribute: ListField's __init__ sets max_length from its
        # keywords, so a class attribute was never in effect (nor in the OpenAPI document).
        super().__init__(max_length=contract.MAX_PARTICIPANTS, **kwargs)


# --- playbooks ---------------------------------------------------------------------------------


class PlaybookOutput(serializers.ModelSerializer):
    trigger = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = ["code", "name_zh", "name_en", "description", "version", "is_active", "trigger", "steps",
                  "definition", "updated_by", "created_at", "updated_at"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_trigger(self, playbook) -> dict:
        return playbook.definition["trigger"]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_steps(self, playbook) -> list:
        return playbook.definition["steps"]


class PlaybookInput(Input):
    code = serializers.SlugField(max_length=contract.PLAYBOOK_CODE_MAX_LENGTH)
    name_zh = serializers.CharField(max_length=contract.PLAYBOOK_NAME_MAX_LENGTH)
    name_en = serializers.CharField(max_length=contract.PLAYBOOK_NAME_MAX_LENGTH)
    description = serializers.CharField(max_length=contract.TEXT_MAX_LENGTH, required=False, allow_blank=True)
    definition = serializers.JSONField(help_text="Trigger, escalation windows and steps; see docs/playbooks.md, "
                                                 "\"Definitions\". Validated whole; errors name the path.")
    is_active = serializers.BooleanField(required=False)


@extend_schema_serializer(component_name="PlaybookPatch")
class PlaybookPatchInput(PlaybookInput):
    code = None
    name_zh = serializers.CharField(max_length=contract.PLAYBOOK_NAME_MAX_LENGTH, required=False)
    name_en = serializers.CharField(max_length=contract.PLAYBOOK_NAME_MAX_LENGTH, required=False)
    definition = serializers.JSONField(required=False)


# --- runs ----------------------------------------------------------------------------------------


class StepOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="step_id")

    class Meta:
        model = StepRun
        fields = ["index", "id", "kind", "state", "due_at", "done_at", "attempts", "outcome"]


class RunOutput(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident_id")
    playbook = serializers.CharField(source="playbook.code")
    level = serializers.CharField(source="incident.level")
    concerned = serializers.SerializerMethodField()
    steps = StepOutput(many=True)

    class Meta:
        model = WorkflowRun
        fields = ["id", "incident", "playbook", "playbook_version", "state", "level", "concerned", "escalation_stage",
                  "started_at", "paused_at", "finished_at", "ended_reason", "steps"]

    def get_concerned(self, run) -> list[str]:
        return from_codes(run.concerned)


class RunCancelInput(Input):
    reason = serializers.CharField(max_length=contract.RUN_CANCEL_REASON_MAX_LENGTH, required=False, allow_blank=True)


class ApproveInput(Input):
    step = serializers.IntegerField(min_value=0, max_value=contract.MAX_APPROVE_STEP,
                                    help_text="The publish_alert step's index.")


# --- acknowledgements and escalations ----------------------------------------------------------------


class AcknowledgementOutput(serializers.ModelSerializer):
    run = serializers.UUIDField(source="run_id")
    incident = serializers.CharField(source="incident_id")
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    escalation_of = serializers.UUIDField(source="escalation_of_id", allow_null=True)
    escalation_stage = serializers.IntegerField(source="stage")

    class Meta:
        model = Acknowledgement
        fields = ["id", "run", "incident", "jurisdiction", "status", "level", "requested_at", "due_at", "overdue",
                  "escalation_stage", "escalation_of", "acknowledged_at", "acknowledged_by", "comment"]


class AcknowledgeInput(Input):
    comment = serializers.CharField(
        max_length=contract.ACK_COMMENT_MAX_LENGTH, required=False, allow_blank=True,
        help_text="Optional: what the acknowledging officer adds (kept with the answer, written on the timeline).")


class EscalationOutput(serializers.ModelSerializer):
    run = serializers.UUIDField(source="run_id")
    incident = serializers.CharField(source="incident_id")
    acknowledgement = serializers.UUIDField(source="acknowledgement_id", allow_null=True)
    target_jurisdiction = serializers.CharField(source="target_jurisdiction_id", allow_null=True)
    target_body = serializers.CharField(source="target_body_id", allow_null=True)
    concerned = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = ["id", "run", "incident", "acknowledgement", "stage", "subject_jurisdiction", "target",
                  "target_jurisdiction", "target_body", "concerned", "reason", "raised_at"]

    def get_concerned(self, escalation) -> list[str]:
        return from_codes(escalation.jurisdictions)


# --- joint command and tasks -----------------------------------------------------------------------


class TaskOutput(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident_id")
    joint_command = serializers.UUIDField(source="joint_command_id", allow_null=True)
    decision = serializers.IntegerField(source="decision_id", allow_null=True)
    assignee = serializers.CharField(source="assignee_id")

    class Meta:
        model = Task
        fields = ["id", "incident", "joint_command", "decision", "title", "assignee", "due_at", "status",
                  "created_by", "created_at", "updated_at"]


class LogEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = JointCommandLogEntry
        fields = ["id", "at", "author", "author_jurisdiction", "text"]


class JointCommandOutput(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident_id")
    lead = serializers.CharField(source="lead_id")
    participants = serializers.ListField(source="participant_codes", child=serializers.CharField())
    run = serializers.UUIDField(source="run_id", allow_null=True)
    tasks = TaskOutput(many=True)
    log = LogEntryOutput(many=True)

    class Meta:
        model = JointCommand
        fields = ["id", "incident", "name", "lead", "participants", "status", "run", "opened_at", "opened_by",
                  "closed_at", "tasks", "log"]


class JointCommandInput(Input):
    incident = serializers.CharField(max_length=contract.INCIDENT_ID_MAX_LENGTH)
    lead = serializers.CharField(max_length=contract.JURISDICTION_CODE_LENGTH, required=False,
                                 help_text="Default: the reporting jurisdiction.")
    participants = Codes(required=False, help_text="Besides the incident's affected jurisdictions.")
    name = serializers.CharField(max_length=contract.TITLE_MAX_LENGTH, required=False, allow_blank=True)


class TaskInput(Input):
    title = serializers.CharField(max_length=contract.TITLE_MAX_LENGTH)
    assignee = serializers.CharField(max_length=contract.JURISDICTION_CODE_LENGTH)
    due_at = InstantField(required=False, allow_null=True)


class LogInput(Input):
    text = serializers.CharField(max_length=contract.TEXT_MAX_LENGTH)


@extend_schema_serializer(component_name="TaskTransition")
class TaskTransitionInput(Input):
    status = serializers.ChoiceField(choices=TaskStatus.choices)


# --- meetings ----------------------------------------------------------------------------------


class AgendaItemOutput(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident_id", allow_null=True)

    class Meta:
        model = AgendaItem
        fields = ["position", "title", "incident"]


class DecisionOutput(serializers.ModelSerializer):
    agenda_item = serializers.SerializerMethodField()
    tasks = TaskOutput(many=True)

    class Meta:
        model = Decision
        fields = ["id", "text", "agenda_item", "decided_at", "recorded_by", "tasks"]

    def get_agenda_item(self, decision) -> int | None:
        return decision.agenda_item.position if decision.agenda_item_id else None


class MeetingOutput(serializers.ModelSerializer):
    convener = serializers.CharField(source="convener_id")
    body = serializers.CharField(source="body_id", allow_null=True)
    participants = serializers.ListField(source="participant_codes", child=serializers.CharField())
    run = serializers.UUIDField(source="run_id", allow_null=True)
    agenda = AgendaItemOutput(many=True)
    decisions = DecisionOutput(many=True)

    class Meta:
        model = Meeting
        fields = ["id", "title", "cluster", "convener", "body", "participants", "scheduled_at", "status", "level",
                  "run", "created_by", "created_at", "agenda", "decisions"]


class AgendaInput(Input):
    title = serializers.CharField(max_length=contract.AGENDA_ITEM_MAX_LENGTH)
    incident = serializers.CharField(max_length=contract.INCIDENT_ID_MAX_LENGTH, required=False, allow_null=True)


class MeetingInput(Input):
    title = serializers.CharField(max_length=contract.TITLE_MAX_LENGTH)
    scheduled_at = InstantField()
    agenda = AgendaInput(many=True, allow_empty=False, max_length=contract.MAX_AGENDA_ITEMS)
    participants = Codes(required=False, help_text="Besides the agenda incidents' affected jurisdictions.")
    body = serializers.CharField(max_length=contract.BODY_CODE_MAX_LENGTH, required=False, allow_null=True,
                                 help_text="A coordination body whose members are invited (e.g. GBA-COMMITTEE).")


class DecisionTaskInput(Input):
    title = serializers.CharField(max_length=contract.TITLE_MAX_LENGTH)
    assignee = serializers.CharField(max_length=contract.JURISDICTION_CODE_LENGTH)
    due_at = InstantField(required=False, allow_null=True)


class DecisionInput(Input):
    text = serializers.CharField(max_length=contract.TEXT_MAX_LENGTH)
    agenda_item = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                           help_text="The agenda item's position.")
    tasks = DecisionTaskInput(many=True, required=False, max_length=contract.MAX_DECISION_TASKS)


@extend_schema_serializer(component_name="MeetingClose")
class MeetingCloseInput(Input):
    status = serializers.ChoiceField(choices=[Meeting.Status.HELD, Meeting.Status.CANCELLED])
