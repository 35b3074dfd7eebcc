"""Playbook definitions (预案) as data: their schema, its validation, and durations.

A definition is JSON kept on the Playbook row and frozen onto every run it starts:

    {
      "trigger": {"categories": ["natural_disaster"], "types": ["flood", "typhoon"],
                  "level_at_least": "III", "cross_border": true, "min_affected": 2, "clusters": ["GBA"]},
      "escalation": {"I": "10m", "II": "20m", "III": "30m", "IV": "1h"},
      "steps": [
        {"kind": "notify", "to": ["affected", "neighbours"]},
        {"kind": "request_ack", "from": ["affected"], "deadline": {"I": "15m", "II": "30m", "III": "1h", "IV": "2h"}},
        {"kind": "wait", "until": {"all_acknowledged": true}, "timeout": "1h"},
        {"kind": "open_joint_command", "lead": "core_city", "when": {"level_at_least": "II"}}
      ]
    }

Every model forbids unknown keys, so a misspelt key is an error that names itself rather than
a step that silently does less. Durations are written `90s`, `30m`, `2h`, `1d` or combined
(`1h30m`); the engine multiplies them by DEADLINE_SCALE when it schedules. The clusters a
trigger names are checked against the registry by the service that saves the playbook.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from config.errors import ValidationFailed
from coordination.workflows.texts import text_type
from incidents.catalogue import TYPES, Category
from incidents.lifecycle import Status

LEVELS = ("I", "II", "III", "IV")
Level = Literal["I", "II", "III", "IV"]
MAX_DURATION_SECONDS = 30 * 86400
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_STEP_ID = r"^[a-z0-9][a-z0-9_-]{0,47}$"


def duration_seconds(text: str) -> int:
    """`1h30m` → 5400. Raises ValueError for anything else (empty, zero, over 30 days)."""
    match = _DURATION.match(text or "")
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 30m, 2h, 1d or 1h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError("a duration must be longer than zero")
    if total > MAX_DURATION_SECONDS:
        raise ValueError("a duration may be at most 30 days")
    return total


def _checked_duration(value: str) -> str:
    duration_seconds(value)
    return value


Duration = Annotated[str, Field(max_length=32), AfterValidator(_checked_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LevelDurations(_Strict):
    """A duration per incident level; I (the most severe) may not get longer than IV."""

    I: Duration  # noqa: E741 (the law's own name)
    II: Duration
    III: Duration
    IV: Duration

    @model_validator(mode="after")
    def _shorter_when_more_severe(self):
        seconds = [duration_seconds(getattr(self, level)) for level in LEVELS]
        if seconds != sorted(seconds):
            raise ValueError("the more severe the level, the shorter the duration: I ≤ II ≤ III ≤ IV")
        return self

    def seconds(self, level: str) -> int:
        return duration_seconds(getattr(self, level if level in LEVELS else "IV"))


DEFAULT_DEADLINES = {"I": "15m", "II": "30m", "III": "1h", "IV": "2h"}
DEFAULT_ESCALATION = {"I": "10m", "II": "20m", "III": "30m", "IV": "1h"}

# Who a step addresses, worked out from the incident's facts and the registry when it runs:
# its affected jurisdictions, their neighbours, the cluster's core cities, every member of
# the cluster, the lead cities of the affected jurisdictions' metropolitan circles. The
# reporting jurisdiction is never among them: it is the one asking.
Audience = Literal["affected", "neighbours", "core_cities", "cluster", "circle_lead"]


class Condition(_Strict):
    """Facts of the incident a step needs; every one given must hold."""

    level_at_least: Level | None = None
    cross_border: bool | None = None
    min_affected: int | None = Field(default=None, ge=1, le=500)
    statuses: list[str] | None = None

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value):
        if value is not None:
            unknown = [status for status in value if status not in Status.values]
            if unknown:
                raise ValueError(f"unknown statuses {unknown}; of {', '.join(Status.values)}")
        return value


class WaitUntil(Condition):
    all_acknowledged: bool | None = Field(
        default=None, description="Every acknowledgement this run asked for has been answered."
    )

    @model_validator(mode="after")
    def _something(self):
        if not self.model_dump(exclude_none=True):
            raise ValueError("name at least one condition to wait for")
        return self


class _Step(_Strict):
    id: str | None = Field(default=None, pattern=_STEP_ID)
    title: text_type(200) = ""
    when: Condition | None = None


class NotifyStep(_Step):
    kind: Literal["notify"]
    to: list[Audience] = Field(min_length=1)
    message: text_type(1000) = ""


class RequestAckStep(_Step):
    kind: Literal["request_ack"]
    from_: list[Audience] = Field(alias="from", min_length=1)
    deadline: LevelDurations = Field(default_factory=lambda: LevelDurations(**DEFAULT_DEADLINES))


class EscalateStep(_Step):
    kind: Literal["escalate"]
    to: Literal["next", "duty_officers", "circle_lead", "committee"] = "next"
    reason: text_type(500) = ""


class TaskTemplate(_Strict):
    title: text_type(200, min_length=1)
    assignee: Literal["lead", "participants", "reporter"] = "lead"
    due: Duration


class OpenJointCommandStep(_Step):
    kind: Literal["open_joint_command"]
    lead: Literal["core_city", "most_affected", "reporter"] = "core_city"
    name: str = Field(default="", max_length=200)
    tasks: list[TaskTemplate] = Field(default_factory=list, max_length=20)


class ConveneMeetingStep(_Step):
    kind: Literal["convene_meeting"]
    within: Duration
    body: Literal["committee", "circle", "participants"] = "committee"
    agenda: list[text_type(300, min_length=1)] = Field(default_factory=list, max_length=20)


class RequestResourcesStep(_Step):
    kind: Literal["request_resources"]
    resource_type: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    quantity: int = Field(ge=1, le=1_000_000)
    needed_within: Duration
    description: str = Field(default="", max_length=2000)


class PublishAlertStep(_Step):
    kind: Literal["publish_alert"]
    headline: text_type(300) = ""
    instruction: text_type(2000) = ""
    approval_timeout: Duration | None = None


class WaitStep(_Step):
    kind: Literal["wait"]
    duration: Duration | None = None
    until: WaitUntil | None = None
    timeout: Duration | None = None

    @model_validator(mode="after")
    def _one_way_to_wait(self):
        if (self.duration is None) == (self.until is None):
            raise ValueError("a wait step has either a duration or an until condition")
        if self.timeout is not None and self.until is None:
            raise ValueError("timeout goes with until (a duration is its own timeout)")
        return self


Step = Annotated[
    NotifyStep | RequestAckStep | EscalateStep | OpenJointCommandStep | ConveneMeetingStep | RequestResourcesStep
    | PublishAlertStep | WaitStep,
    Field(discriminator="kind"),
]
STEP_KINDS = ("notify", "request_ack", "escalate", "open_joint_command", "convene_meeting", "request_resources",
              "publish_alert", "wait")


class Trigger(_Strict):
    """Which incidents start the playbook; empty lists mean "any"."""

    categories: list[Literal["natural_disaster", "accident", "public_health", "social_safety"]] = Field(
        default_factory=list
    )
    types: list[str] = Field(default_factory=list)
    level_at_least: Level = "IV"
    cross_border: bool | None = None
    min_affected: int = Field(default=1, ge=1, le=500)
    clusters: list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,15}$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _types_of_the_categories(self):
        categories = self.categories or list(Category.values)
        known = {code for category in categories for code in TYPES[category]}
        unknown = [code for code in self.types if code not in known]
        if unknown:
            scope = f"the categories {', '.join(self.categories)}" if self.categories else "any category"
            raise ValueError(f"types {unknown} are not types of {scope}")
        return self


class PersonWaits(_Strict):
    """Minutes between one wave of a jurisdiction's people and the next (primary → each backup →
    the bureau's head; coordination.notify.escalation), per level. A level left out, or the
    whole key, takes the default: the request's deadline split evenly between the waves."""

    I: int | None = Field(default=None, ge=1, le=1440)  # noqa: E741 (the law's own name)
    II: int | None = Field(default=None, ge=1, le=1440)
    III: int | None = Field(default=None, ge=1, le=1440)
    IV: int | None = Field(default=None, ge=1, le=1440)


class Definition(_Strict):
    # What the playbook is for, in three languages like every text a person reads (texts.py);
    # the row's `description` keeps its English (coordination.workflows.demo fills it).
    description: text_type(5000) | None = None
    trigger: Trigger
    escalation: LevelDurations = Field(default_factory=lambda: LevelDurations(**DEFAULT_ESCALATION))
    person_waits: PersonWaits | None = None
    steps: list[Step] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _step_ids(self):
        seen = set()
        for index, step in enumerate(self.steps):
            if step.id is None:
                step.id = f"{index + 1}-{step.kind.replace('_', '-')}"
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self


STEP_ADAPTER: TypeAdapter = TypeAdapter(Step)


def definition_validated(data: Any) -> dict:
    """The definition with every default written out (what a run freezes), or ValidationFailed
    with one message per problem, keyed by the path to it (`definition.steps.2.deadline`)."""
    if not isinstance(data, dict):
        raise ValidationFailed.on("definition", "A playbook definition is a JSON object with trigger and steps.")
    try:
        definition = Definition.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for problem in exc.errors(include_url=False):
            path = ".".join(str(part) for part in ("definition", *_readable(problem["loc"])))
            errors.setdefault(path, []).append(problem["msg"].removeprefix("Value error, "))
        first = next(iter(errors.items()))
        raise ValidationFailed(f"{first[0]}: {first[1][0]}", errors=errors) from None
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def _readable(loc) -> list:
    """Drop the union's tag from error paths: `steps.2.notify.to` reads `steps.2.to`."""
    return [part for part in loc if part not in STEP_KINDS]


def step_of(data: dict):
    """One frozen step as its model (the engine reads the run's copy, not the playbook)."""
    return STEP_ADAPTER.validate_python(data)


def escalation_of(definition: dict) -> LevelDurations:
    return LevelDurations(**definition.get("escalation", DEFAULT_ESCALATION))


def person_wait_minutes(definition: dict, level: str) -> int | None:
    """The playbook's wait between waves of people at `level` (playbook minutes), or None for
    the default (coordination.notify.escalation)."""
    return (definition.get("person_waits") or {}).get(level if level in LEVELS else "IV")
