"""The coordination API (docs/playbooks.md, "API"): playbooks, workflow runs, acknowledgements,
escalations, joint commands, tasks and joint meetings.

Thin: parse with an input serializer, call one service, answer with an output serializer.
Lists start from coordination.workflows.selectors, where the visibility rule is applied; a
single object is looked up in the same visible list, so what the caller may not see is a 404.
"""

import uuid

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.errors import NotFound
from config.filters import InstantFilter
from config.schema import PROBLEM
from config.serializers import validated
from coordination.permissions import allows
from coordination.roles import Action
from coordination.workflows import selectors
from coordination.workflows.api import serializers
from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
    Escalation,
    JointCommand,
    Meeting,
    Playbook,
    RunState,
    Task,
    TaskStatus,
    WorkflowRun,
)
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
from coordination.workflows.services.joint_commands import (
    joint_command_close,
    joint_command_log_add,
    joint_command_open,
    joint_command_task_add,
    task_transition,
)
from coordination.workflows.services.meetings import meeting_close, meeting_create, meeting_decision_record
from coordination.workflows.services.playbooks import playbook_create, playbook_update
from coordination.workflows.services.run_control import (
    workflow_run_cancel,
    workflow_run_pause,
    workflow_run_resume,
    workflow_step_approve,
)

UUID_PATTERN = "[0-9a-fA-F-]{32,36}"


def _one(queryset, pk, what: str):
    try:
        obj = queryset.filter(pk=uuid.UUID(str(pk))).first()
    except ValueError:
        obj = None
    if obj is None:
        raise NotFound(f"No such {what}.")
    return obj


class _VisibleViewSet(viewsets.GenericViewSet):
    """Lists and details of what a selector lets the caller see."""

    what = "object"
    lookup_value_regex = UUID_PATTERN

    def visible(self):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no caller
            return self.serializer_class.Meta.model.objects.none()
        return self.visible()

    def get_object(self):
        return _one(self.get_queryset(), self.kwargs["pk"], self.what)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)


# --- playbooks ---------------------------------------------------------------------------------


class PlaybookFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="is_active", help_text="Default: true (the playbooks in force).")

    class Meta:
        model = Playbook
        fields = ["active"]


class PlaybookViewSet(_VisibleViewSet):
    """Playbooks (预案) for the caller's clusters; coordinators create and edit them."""

    serializer_class = serializers.PlaybookOutput
    filterset_class = PlaybookFilter
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_PLAYBOOKS)]
    lookup_field = "code"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    what = "playbook"

    def visible(self):
        return selectors.playbooks_visible_to(principal=self.request.user).order_by("code")

    def filter_queryset(self, queryset):
        # The list is of the playbooks in force (docs/api.md, "Filters") unless `active` asks otherwise.
        queryset = super().filter_queryset(queryset)
        if self.action == "list" and "active" not in self.request.query_params:
            queryset = queryset.filter(is_active=True)
        return queryset

    def get_object(self):
        playbook = self.get_queryset().filter(code=self.kwargs["code"]).first()
        if playbook is None:
            raise NotFound("No such playbook.")
        return playbook

    def retrieve(self, request, code=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=serializers.PlaybookInput,
                   responses={201: serializers.PlaybookOutput, 409: PROBLEM})
    def create(self, request):
        data = validated(serializers.PlaybookInput, request.data)
        playbook = playbook_create(actor=request.user, **data)
        return Response(self.get_serializer(playbook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.PlaybookPatchInput, responses={200: serializers.PlaybookOutput},
                   description="Runs under way keep the version they started with.")
    def partial_update(self, request, code=None):
        playbook = self.get_object()
        data = validated(serializers.PlaybookPatchInput, request.data)
        playbook = playbook_update(actor=request.user, playbook=playbook, **data)
        return Response(self.get_serializer(playbook).data)


# --- runs ----------------------------------------------------------------------------------------


class RunFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident_id")
    playbook = django_filters.CharFilter(field_name="playbook__code")
    state = django_filters.ChoiceFilter(choices=RunState.choices)

    class Meta:
        model = WorkflowRun
        fields = ["incident", "playbook", "state"]


class WorkflowRunViewSet(_VisibleViewSet):
    """The runs incidents triggered, each with its steps; coordinators pause, resume, cancel."""

    serializer_class = serializers.RunOutput
    filterset_class = RunFilter
    permission_classes = [allows(read=Action.READ, pause=Action.CONTROL_WORKFLOWS, resume=Action.CONTROL_WORKFLOWS,
                                 cancel=Action.CONTROL_WORKFLOWS, approve=Action.APPROVE_ALERT)]
    what = "workflow run"

    def visible(self):
        return selectors.runs_visible_to(principal=self.request.user).order_by("-started_at", "id")

    def _answer(self, run):
        return Response(self.get_serializer(selectors.runs_visible_to(principal=self.request.user).get(pk=run.pk)).data)

    @extend_schema(request=None, responses={200: serializers.RunOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._answer(workflow_run_pause(actor=request.user, run_id=pk))

    @extend_schema(request=None, responses={200: serializers.RunOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(workflow_run_resume(actor=request.user, run_id=pk))

    @extend_schema(request=serializers.RunCancelInput,
                   responses={200: serializers.RunOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(serializers.RunCancelInput, request.data)
        return self._answer(workflow_run_cancel(actor=request.user, run_id=pk, **data))

    @extend_schema(request=serializers.ApproveInput, responses={200: serializers.RunOutput, 409: PROBLEM},
                   description="A commander of the reporting jurisdiction approves a publish_alert step.")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = validated(serializers.ApproveInput, request.data)
        step = workflow_step_approve(actor=request.user, run_id=pk, step_index=data["step"])
        return self._answer(step.run)


# --- acknowledgements and escalations ----------------------------------------------------------------


ADDRESSEE = OpenApiParameter(
    "addressee", str, required=False,
    description="Whose requests: a jurisdiction code, a coordination body's code (the requests escalated to a "
                "body you sit on, which you may acknowledge for it), or `any` for every one you may see. "
                "Default: your own jurisdiction's (what you are asked to acknowledge).",
)


class AcknowledgementFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AckStatus.choices)
    incident = django_filters.CharFilter(field_name="incident_id")
    run = django_filters.UUIDFilter(field_name="run_id")
    overdue = django_filters.BooleanFilter()

    class Meta:
        model = Acknowledgement
        fields = ["status", "incident", "run", "overdue"]


@extend_schema(parameters=[ADDRESSEE])
class AcknowledgementViewSet(_VisibleViewSet):
    """Requests to acknowledge, with their deadlines; POST …/ack/ answers one for your jurisdiction, or for a
    coordination body you sit on that it was escalated to."""

    serializer_class = serializers.AcknowledgementOutput
    filterset_class = AcknowledgementFilter
    permission_classes = [allows(read=Action.READ, ack=Action.ACKNOWLEDGE)]
    what = "acknowledgement request"

    def visible(self):
        return selectors.acknowledgements_visible_to(principal=self.request.user).order_by("due_at", "id")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action != "list":
            return queryset
        addressee = self.request.query_params.get("addressee", self.request.user.jurisdiction)
        if addressee == "any":
            return queryset
        if not addressee.isdigit():  # a body's code (jurisdictions' are six digits)
            return queryset.filter(pk__in=selectors.escalated_to_body(addressee).values("acknowledgement_id"))
        return queryset.filter(jurisdiction_id=addressee)

    @extend_schema(request=serializers.AcknowledgeInput,
                   responses={200: serializers.AcknowledgementOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def ack(self, request, pk=None):
        given = serializers.AcknowledgeInput(data=request.data)
        given.is_valid(raise_exception=True)
        ack = acknowledgement_acknowledge(actor=request.user, acknowledgement_id=pk,
                                          comment=given.validated_data.get("comment", ""))
        return Response(self.get_serializer(ack).data)


class EscalationFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident_id")
    run = django_filters.UUIDFilter(field_name="run_id")
    target = django_filters.CharFilter()

    class Meta:
        model = Escalation
        fields = ["incident", "run", "target"]


class EscalationViewSet(_VisibleViewSet):
    serializer_class = serializers.EscalationOutput
    filterset_class = EscalationFilter
    what = "escalation"

    def visible(self):
        return selectors.escalations_visible_to(principal=self.request.user).order_by("raised_at", "id")


# --- joint command and tasks -----------------------------------------------------------------------


class JointCommandFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident_id")
    status = django_filters.ChoiceFilter(choices=JointCommand.Status.choices)
    lead = django_filters.CharFilter(field_name="lead_id")

    class Meta:
        model = JointCommand
        fields = ["incident", "status", "lead"]


class JointCommandViewSet(_VisibleViewSet):
    """Joint commands (联合指挥部): lead, participants, tasks and the shared log."""

    serializer_class = serializers.JointCommandOutput
    filterset_class = JointCommandFilter
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_JOINT_COMMAND, log=Action.REPORT_INCIDENT)]
    what = "joint command"

    def visible(self):
        return selectors.joint_commands_visible_to(principal=self.request.user).order_by("-opened_at", "id")

    def _answer(self, command, status_code=status.HTTP_200_OK):
        command = selectors.joint_commands_visible_to(principal=self.request.user).get(pk=command.pk)
        return Response(self.get_serializer(command).data, status=status_code)

    @extend_schema(request=serializers.JointCommandInput,
                   responses={201: serializers.JointCommandOutput, 200: serializers.JointCommandOutput},
                   description="One joint command per incident: the one already open is answered with 200.")
    def create(self, request):
        data = validated(serializers.JointCommandInput, request.data)
        command, opened = joint_command_open(actor=request.user, **data)
        return self._answer(command, status.HTTP_201_CREATED if opened else status.HTTP_200_OK)

    @extend_schema(request=serializers.TaskInput, responses={201: serializers.TaskOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def tasks(self, request, pk=None):
        data = validated(serializers.TaskInput, request.data)
        task = joint_command_task_add(actor=request.user, joint_command_id=pk, **data)
        return Response(serializers.TaskOutput(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.LogInput,
                   responses={201: serializers.LogEntryOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def log(self, request, pk=None):
        data = validated(serializers.LogInput, request.data)
        entry = joint_command_log_add(actor=request.user, joint_command_id=pk, **data)
        return Response(serializers.LogEntryOutput(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: serializers.JointCommandOutput})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._answer(joint_command_close(actor=request.user, joint_command_id=pk))


class TaskFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident_id")
    assignee = django_filters.CharFilter(field_name="assignee_id")
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    joint_command = django_filters.UUIDFilter(field_name="joint_command_id")

    class Meta:
        model = Task
        fields = ["incident", "assignee", "status", "joint_command"]


class TaskViewSet(_VisibleViewSet):
    """Tasks of joint commands and meetings' decisions; the assignee moves them along."""

    serializer_class = serializers.TaskOutput
    filterset_class = TaskFilter
    permission_classes = [allows(read=Action.READ, transition=Action.REPORT_INCIDENT)]
    what = "task"

    def visible(self):
        return selectors.tasks_visible_to(principal=self.request.user).order_by("due_at", "created_at", "id")

    @extend_schema(request=serializers.TaskTransitionInput,
                   responses={200: serializers.TaskOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        data = validated(serializers.TaskTransitionInput, request.data)
        task = task_transition(actor=request.user, task_id=pk, status=data["status"])
        return Response(self.get_serializer(task).data)


# --- meetings ----------------------------------------------------------------------------------


class MeetingFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="agenda__incident_id", distinct=True)
    status = django_filters.ChoiceFilter(choices=Meeting.Status.choices)
    convener = django_filters.CharFilter(field_name="convener_id")
    after = InstantFilter(field_name="scheduled_at", lookup_expr="gte")

    class Meta:
        model = Meeting
        fields = ["incident", "status", "convener", "after"]


class MeetingViewSet(_VisibleViewSet):
    """Joint meetings (联席会议): time, participants, agenda tied to incidents, decisions."""

    serializer_class = serializers.MeetingOutput
    filterset_class = MeetingFilter
    permission_classes = [allows(read=Action.READ, write=Action.MANAGE_JOINT_COMMAND)]
    what = "meeting"

    def visible(self):
        return selectors.meetings_visible_to(principal=self.request.user).order_by("scheduled_at", "id")

    def _answer(self, meeting, status_code=status.HTTP_200_OK):
        meeting = selectors.meetings_visible_to(principal=self.request.user).get(pk=meeting.pk)
        return Response(self.get_serializer(meeting).data, status=status_code)

    @extend_schema(request=serializers.MeetingInput, responses={201: serializers.MeetingOutput})
    def create(self, request):
        data = validated(serializers.MeetingInput, request.data)
        return self._answer(meeting_create(actor=request.user, **data), status.HTTP_201_CREATED)

    @extend_schema(request=serializers.DecisionInput,
                   responses={201: serializers.MeetingOutput, 409: PROBLEM},
                   description="A decision; each task it lists becomes a task of the agenda item's incident.")
    @action(detail=True, methods=["post"])
    def decisions(self, request, pk=None):
        data = validated(serializers.DecisionInput, request.data)
        decision, _ = meeting_decision_record(actor=request.user, meeting_id=pk, **data)
        return self._answer(decision.meeting, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.MeetingCloseInput,
                   responses={200: serializers.MeetingOutput, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = validated(serializers.MeetingCloseInput, request.data)
        return self._answer(meeting_close(actor=request.user, meeting_id=pk, status=data["status"]))
