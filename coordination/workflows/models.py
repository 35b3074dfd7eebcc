"""Joint prevention and control (联防联控) as rows: playbooks, their runs and steps,
acknowledgements, escalations, joint commands, tasks and joint meetings.

Layer 5 (docs/architecture.md, "Layers"). Every step, deadline and outcome is a row here; Celery only
carries the work, so a lost message or a killed worker delays a step but never loses it (the
sweep in coordination.workflows.deadlines finds what is due). Rules live in the engine's
modules (what runs do: triggers, runs, steps, escalation, joint_command, reconcile, deadlines)
and coordination.workflows.services (what people do); a model holds data, constraints,
lifecycle tables and single-row properties only.

Incidents are known here by the facts their events carry (IncidentFacts), not by a foreign
key into the incidents app: the engine reacts to the event log, the layer below it.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from coordination.models import CoordinationBody, Jurisdiction


def codes_field(help_text: str) -> models.TextField:
    # ",440300,441900," — a delimited string so "concerns X" is a plain LIKE on both databases
    # (the event log's own form, sharing.models.Event.jurisdictions).
    return models.TextField(blank=True, default="", help_text=help_text)


def as_codes(codes) -> str:
    codes = sorted(set(codes) - {""})
    return "," + ",".join(codes) + "," if codes else ""


def from_codes(text: str) -> list[str]:
    return [code for code in text.split(",") if code]


class Playbook(models.Model):
    """A plan (预案): a trigger and ordered steps, as validated data (definitions.Definition)."""

    code = models.SlugField(max_length=64, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    definition = models.JSONField(help_text=_("Trigger and steps; see coordination/workflows/definitions.py."))
    clusters = codes_field(_("The trigger's clusters (empty: every cluster), kept for lookups."))
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    updated_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} v{self.version}"


class IncidentFacts(models.Model):
    """What the engine knows of an incident: the facts its latest event carried.

    Kept from incident.created / incident.updated / incident.status_changed payloads, newest
    version wins, so redelivered or replayed events change nothing. The visibility rule
    judges runs, acknowledgements and joint commands by these facts.
    """

    public_id = models.CharField(max_length=32, primary_key=True)
    title = models.CharField(max_length=200, blank=True)
    cluster = models.CharField(max_length=16, blank=True)
    owner = models.CharField(max_length=6, help_text=_("The reporting jurisdiction."))
    category = models.CharField(max_length=32, blank=True)
    type = models.CharField(max_length=32, blank=True)
    level = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=16, blank=True)
    cross_border = models.BooleanField(default=False)
    exercise = models.BooleanField(default=False)
    affected = codes_field(_("Affected jurisdictions."))
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "incident facts"

    def __str__(self):
        return f"{self.public_id} {self.level} {self.status}"

    @property
    def affected_codes(self) -> list[str]:
        return from_codes(self.affected)


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# The run lifecycle, declared once (runs.run_move enforces it). A coordinator pauses and
# resumes a running run; it completes when none of its steps is left to do; a coordinator or
# its incident closing cancels it, completed or not, since a completed run still reaches newly
# affected jurisdictions and escalates its unanswered acknowledgements.
RUN_MOVES: dict[str, frozenset[str]] = {
    RunState.RUNNING: frozenset({RunState.PAUSED, RunState.COMPLETED, RunState.CANCELLED}),
    RunState.PAUSED: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    RunState.COMPLETED: frozenset({RunState.CANCELLED}),
    RunState.CANCELLED: frozenset(),
}

# Runs that may still change (their incident's facts reach them).
LIVE_RUN_STATES: frozenset[str] = frozenset(state for state, moves in RUN_MOVES.items() if moves)
# Runs whose clock runs: their due steps are done and their deadlines escalate. A paused run's
# clock is stopped; a completed run's still runs for what it keeps doing (see RUN_MOVES).
ACTIVE_RUN_STATES: frozenset[str] = LIVE_RUN_STATES - {RunState.PAUSED}


class WorkflowRun(models.Model):
    """One playbook started for one incident, with the playbook and the escalation chain
    frozen as they were at the start: later edits do not change a run under way."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(IncidentFacts, on_delete=models.CASCADE, related_name="runs")
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="runs")
    playbook_version = models.PositiveIntegerField()
    definition = models.JSONField()
    chain = models.JSONField(help_text=_("The escalation chain in force at the start (engine.freeze_chain)."))
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    concerned = codes_field(_("Every jurisdiction the run notified, asked or escalated to."))
    # Raised when the incident's facts change in a way steps depend on (level, affected
    # jurisdictions, status); the run is reconciled until it catches up.
    facts_version = models.PositiveIntegerField(default=0)
    reconciled_version = models.PositiveIntegerField(default=0)
    escalation_stage = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    paused_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)
    stalled_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "id"]
        constraints = [
            # Re-triggering an incident never starts a second run of the same playbook.
            models.UniqueConstraint(fields=["incident", "playbook"], name="workflow_run_once_per_incident"),
            models.CheckConstraint(condition=Q(state__in=RunState.values), name="workflow_run_state_known"),
        ]
        indexes = [models.Index(fields=["state", "reconciled_version"], name="workflow_run_state")]

    def __str__(self):
        return f"{self.playbook_id}@{self.incident_id} {self.state}"


class StepState(models.TextChoices):
    PLANNED = "planned", _("Planned")  # not reached yet
    PENDING = "pending", _("Pending")  # due at due_at
    WAITING = "waiting", _("Waiting")  # for a condition or an approval, until due_at (timeout) if any
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")  # its `when` did not hold; re-armed if it comes to hold
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Steps a worker may claim: the claim is a conditional UPDATE from one of these.
CLAIMABLE_STEP_STATES = (StepState.PENDING, StepState.WAITING)


class StepRun(models.Model):
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    step_id = models.CharField(max_length=48)
    kind = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=StepState.choices, default=StepState.PLANNED)
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    # The task expected to act next: a task carrying another token is stale and exits.
    token = models.UUIDField(null=True, blank=True)
    enqueued = models.BooleanField(default=False, help_text=_("A task with the current token was sent."))
    covered_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="step_run_index_unique"),
            models.CheckConstraint(condition=Q(state__in=StepState.values), name="step_run_state_known"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state__in=["pending", "waiting"]), name="step_run_due"),
        ]

    def __str__(self):
        return f"{self.run_id}#{self.index} {self.kind} {self.state}"


class AckStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CANCELLED = "cancelled", _("Cancelled")


class Acknowledgement(models.Model):
    """A jurisdiction asked to acknowledge, by a deadline that depends on the incident's level.

    Unanswered at `due_at`, it is overdue and escalates along the run's chain, one stage per
    escalation window (`next_check_at`). An escalation to another jurisdiction (a circle's lead
    city, the committee's convener) asks that one too (`escalation_of`); either answering ends
    the chain.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="acknowledgements")
    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    incident = models.ForeignKey(IncidentFacts, on_delete=models.CASCADE, related_name="acknowledgements")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    escalation_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="escalated_to"
    )
    status = models.CharField(max_length=16, choices=AckStatus.choices, default=AckStatus.PENDING)
    level = models.CharField(max_length=3, help_text=_("The incident's level the deadline was set for."))
    requested_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    overdue = models.BooleanField(default=False)
    stage = models.PositiveSmallIntegerField(default=0, help_text=_("Escalations raised so far."))
    next_check_at = models.DateTimeField(null=True, blank=True)
    token = models.UUIDField(null=True, blank=True)
    enqueued = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=200, blank=True)
    comment = models.CharField(
        max_length=500, blank=True,
        help_text=_("What the acknowledging officer adds "
                    "(\u201creceived; level IV response activated; contact …\u201d)."))

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["step", "jurisdiction"], condition=Q(escalation_of__isnull=True),
                                    name="acknowledgement_once_per_step"),
            models.UniqueConstraint(fields=["escalation_of", "jurisdiction"], name="acknowledgement_once_per_chain"),
            models.CheckConstraint(condition=Q(status__in=AckStatus.values), name="acknowledgement_status_known"),
        ]
        indexes = [
            models.Index(fields=["next_check_at"], condition=Q(status="pending"), name="acknowledgement_due"),
            models.Index(fields=["jurisdiction", "status"], name="acknowledgement_addressee"),
        ]

    def __str__(self):
        return f"{self.jurisdiction_id} for {self.incident_id} {self.status}"


class EscalationTarget(models.TextChoices):
    DUTY_OFFICERS = "duty_officers", _("The jurisdiction's duty officers")
    CIRCLE_LEAD = "circle_lead", _("The lead city of its metropolitan circle")
    COMMITTEE = "committee", _("The cluster committee")


class Escalation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="escalations")
    incident = models.ForeignKey(IncidentFacts, on_delete=models.CASCADE, related_name="escalations")
    acknowledgement = models.ForeignKey(
        Acknowledgement, on_delete=models.CASCADE, null=True, blank=True, related_name="escalations",
        help_text=_("The unanswered request that escalated; empty for an escalate step."),
    )
    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    stage = models.PositiveSmallIntegerField()
    subject_jurisdiction = models.CharField(max_length=6, help_text=_("Whose silence or incident escalated."))
    target = models.CharField(max_length=16, choices=EscalationTarget.choices)
    target_jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+")
    target_body = models.ForeignKey(CoordinationBody, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    jurisdictions = codes_field(_("Who the escalation concerns."))
    reason = models.CharField(max_length=500, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            # Each stage of an acknowledgement's chain is raised once, whatever redelivers it.
            models.UniqueConstraint(fields=["acknowledgement", "stage"], name="escalation_once_per_stage"),
            models.UniqueConstraint(fields=["step"], name="escalation_once_per_step"),
        ]

    def __str__(self):
        return f"{self.incident_id} stage {self.stage} → {self.target}"


class JointCommand(models.Model):
    """A joint command post (联合指挥部) for one incident: a lead, participants, tasks, a log."""

    class Status(models.TextChoices):
        # "Open" reads differently for a command post, a task and a request (a context each).
        OPEN = "open", pgettext_lazy("joint command", "Open")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.OneToOneField(IncidentFacts, on_delete=models.CASCADE, related_name="joint_command")
    run = models.ForeignKey(WorkflowRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    lead = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    participants = codes_field(_("Participating jurisdictions, the lead among them."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.CharField(max_length=200)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "id"]

    def __str__(self):
        return self.name

    @property
    def participant_codes(self) -> list[str]:
        return from_codes(self.participants)


class JointCommandLogEntry(models.Model):
    joint_command = models.ForeignKey(JointCommand, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    author = models.CharField(max_length=200)
    author_jurisdiction = models.CharField(max_length=6)
    text = models.TextField()

    class Meta:
        ordering = ["joint_command", "at", "id"]
        verbose_name_plural = "joint command log entries"

    def __str__(self):
        return f"{self.joint_command_id} {self.at:%Y-%m-%d %H:%M}"


class Meeting(models.Model):
    """A joint meeting (联席会议): when, who, an agenda of incidents, and decisions."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    cluster = models.CharField(max_length=16, blank=True)
    convener = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    body = models.ForeignKey(CoordinationBody, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    participants = codes_field(_("Participating jurisdictions, the convener among them."))
    scheduled_at = models.DateTimeField()
    # The most severe level among the agenda's incidents (and their category): what the
    # visibility rule judges a meeting by.
    level = models.CharField(max_length=3, blank=True)
    category = models.CharField(max_length=32, blank=True, help_text=_("The agenda incidents' category, if one."))
    exercise = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    run = models.ForeignKey(WorkflowRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    step = models.OneToOneField(StepRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["scheduled_at", "id"]

    def __str__(self):
        return f"{self.title} {self.scheduled_at:%Y-%m-%d %H:%M}"

    @property
    def participant_codes(self) -> list[str]:
        return from_codes(self.participants)


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300)
    # An item a playbook wrote in three languages keeps them (texts.py); `title` holds its English.
    title_texts = models.JSONField(default=dict, blank=True)
    incident = models.ForeignKey(IncidentFacts, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="agenda_item_position_unique")]

    def __str__(self):
        return f"{self.position}. {self.title}"

    @property
    def title_text(self):
        """What a reader localizes (texts.localized): the three languages, else the title."""
        return self.title_texts or self.title


class Decision(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    text = models.TextField()
    decided_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["meeting", "decided_at", "id"]

    def __str__(self):
        return self.text[:60]


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task", "Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# The task lifecycle, declared once (services enforce it).
TASK_MOVES: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


class Task(models.Model):
    """Work assigned to a jurisdiction: by a joint command, or by a meeting's decision."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(IncidentFacts, on_delete=models.CASCADE, related_name="tasks")
    joint_command = models.ForeignKey(JointCommand, on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="tasks")
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks")
    title = models.CharField(max_length=200)
    # A task a playbook wrote in three languages keeps them (texts.py); `title` holds its English.
    title_texts = models.JSONField(default=dict, blank=True)
    assignee = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_known"),
        ]

    def __str__(self):
        return f"{self.title} → {self.assignee_id} ({self.status})"

    @property
    def title_text(self):
        """What a reader localizes (texts.localized): the three languages, else the title."""
        return self.title_texts or self.title
