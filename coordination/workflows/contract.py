"""The workflows' input contract, declared once: what a caller may send to write a playbook,
acknowledge a request, cancel a run, open a joint command and direct it (tasks, the shared log),
convene a joint meeting and record its decisions.

Both edges take their limits from here: the API's input serializers
(coordination/workflows/api/serializers.py, which the OpenAPI document publishes) and the web
UI's forms (ui/forms.py), so the two accept the same. The field-level checks are the `*_checked`
functions below; the services (coordination.workflows.services) call them, so a service called
directly (the stream's `ack`, the admin, a test) is held to the same contract as one behind a
serializer. A playbook's definition has its own declaration, coordination.workflows.definitions.

What stays in the services is what depends on who asks and on the rows as stored: the
permission, the state of a run, a joint command or a meeting, whether an assignee takes part.
"""

from config.errors import ValidationFailed
from coordination.models import Jurisdiction
from coordination.workflows.models import Acknowledgement

# --- limits ------------------------------------------------------------------------------------

TITLE_MAX_LENGTH = 200  # a task's, a meeting's, a joint command's name
TEXT_MAX_LENGTH = 5_000  # a log entry, a decision, a playbook's description
AGENDA_ITEM_MAX_LENGTH = 300  # an agenda item's title (AgendaItem.title)
MAX_AGENDA_ITEMS = 50
# The UI takes the agenda one item a line in a text area: room for every item at its longest
# with a line break (CR LF, as browsers send it) after each.
AGENDA_TEXT_MAX_LENGTH = MAX_AGENDA_ITEMS * (AGENDA_ITEM_MAX_LENGTH + 2)
MAX_DECISION_TASKS = 50  # tasks one decision assigns
MAX_PARTICIPANTS = 200  # jurisdictions named besides those an incident affects

PLAYBOOK_CODE_MAX_LENGTH = 64
PLAYBOOK_NAME_MAX_LENGTH = 200  # name_zh, name_en
RUN_CANCEL_REASON_MAX_LENGTH = 200  # WorkflowRun.ended_reason
# The comment an acknowledging officer adds: the column's length, so nothing is cut.
ACK_COMMENT_MAX_LENGTH = Acknowledgement._meta.get_field("comment").max_length

JURISDICTION_CODE_LENGTH = 6  # GB/T 2260
INCIDENT_ID_MAX_LENGTH = 32  # a public id, INC-2026-000123
BODY_CODE_MAX_LENGTH = 32  # a coordination body's code, GBA-COMMITTEE
MAX_APPROVE_STEP = 100  # a publish_alert step's index (a playbook has at most 50 steps)


# --- the checks ---------------------------------------------------------------------------------


def text_checked(field: str, value, *, limit: int = TEXT_MAX_LENGTH, required: bool = True) -> str:
    """A text, trimmed, within `limit` characters after trimming; `required`: not blank. No NUL:
    PostgreSQL cannot store it (the API's and the forms' fields refuse it too; the stream's `ack`
    has no field in front)."""
    if not isinstance(value, str):
        raise ValidationFailed.on(field, "Expected text.")
    if "\x00" in value:
        raise ValidationFailed.on(field, "Control characters are not allowed.")
    value = value.strip()
    if required and not value:
        raise ValidationFailed.on(field, "This field may not be blank.")
    if len(value) > limit:
        raise ValidationFailed.on(field, f"At most {limit} characters.")
    return value


def jurisdictions_checked(field: str, codes) -> list[str]:
    """Jurisdiction codes of the registry, each once, in the order given."""
    if not isinstance(codes, list | tuple) or not all(isinstance(code, str) for code in codes):
        raise ValidationFailed.on(field, "Expected a list of jurisdiction codes.")
    codes = list(dict.fromkeys(codes))
    known = set(Jurisdiction.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationFailed.on(field, f"Unknown jurisdictions: {', '.join(unknown[:10])}.")
    return codes
