"""The workflows' input contract (coordination.workflows.contract) is declared once and read
everywhere:

- the web UI's forms (joint command, its log and tasks, meetings and decisions) and the API's
  input serializers take their limits from it;
- its checks answer each value at its bound and one past it, naming the field; the services
  call them (coordination.workflows.services), so a caller with no serializer in front (the
  stream's `ack`, a test) is held to the same;
- the meeting form says the contract's numbers in the officer's language.
"""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from config.errors import ValidationFailed
from coordination.workflows import contract
from coordination.workflows.api import serializers
from coordination.workflows.models import Acknowledgement, AgendaItem, WorkflowRun
from tests.conftest import MACAO, ZHUHAI
from tests.workflows.conftest import deliver
from ui import forms as ui_forms


def _maxlength(form, name: str) -> int:
    return int(form.fields[name].widget.attrs["maxlength"])


def test_the_ui_forms_limits_are_the_contracts():
    assert {
        "log entry": _maxlength(ui_forms.LogEntryForm(), "text"),
        "joint command": _maxlength(ui_forms.JointCommandForm(), "name"),
        "meeting": _maxlength(ui_forms.MeetingForm(), "title"),
        "agenda": _maxlength(ui_forms.MeetingForm(), "agenda"),
        "task": _maxlength(ui_forms.TaskForm(), "title"),
        "decision": _maxlength(ui_forms.DecisionForm(), "text"),
    } == {
        "log entry": contract.TEXT_MAX_LENGTH, "joint command": contract.TITLE_MAX_LENGTH,
        "meeting": contract.TITLE_MAX_LENGTH, "agenda": contract.AGENDA_TEXT_MAX_LENGTH,
        "task": contract.TITLE_MAX_LENGTH, "decision": contract.TEXT_MAX_LENGTH,
    }
    assert f'maxlength="{contract.TEXT_MAX_LENGTH}"' in str(ui_forms.LogEntryForm()["text"])


def test_the_api_serializers_limits_are_the_contracts():
    meeting, decision = serializers.MeetingInput().fields, serializers.DecisionInput().fields
    assert {
        "log entry": serializers.LogInput().fields["text"].max_length,
        "joint command": serializers.JointCommandInput().fields["name"].max_length,
        "participants": serializers.JointCommandInput().fields["participants"].max_length,
        "task": serializers.TaskInput().fields["title"].max_length,
        "meeting": meeting["title"].max_length,
        "agenda items": meeting["agenda"].max_length,
        "agenda item": meeting["agenda"].child.fields["title"].max_length,
        "decision": decision["text"].max_length,
        "decision tasks": decision["tasks"].max_length,
        "decision task": decision["tasks"].child.fields["title"].max_length,
        "comment": serializers.AcknowledgeInput().fields["comment"].max_length,
        "reason": serializers.RunCancelInput().fields["reason"].max_length,
        "playbook name": serializers.PlaybookInput().fields["name_zh"].max_length,
        "playbook description": serializers.PlaybookInput().fields["description"].max_length,
    } == {
        "log entry": contract.TEXT_MAX_LENGTH, "joint command": contract.TITLE_MAX_LENGTH,
        "participants": contract.MAX_PARTICIPANTS, "task": contract.TITLE_MAX_LENGTH,
        "meeting": contract.TITLE_MAX_LENGTH, "agenda items": contract.MAX_AGENDA_ITEMS,
        "agenda item": contract.AGENDA_ITEM_MAX_LENGTH, "decision": contract.TEXT_MAX_LENGTH,
        "decision tasks": contract.MAX_DECISION_TASKS, "decision task": contract.TITLE_MAX_LENGTH,
        "comment": contract.ACK_COMMENT_MAX_LENGTH, "reason": contract.RUN_CANCEL_REASON_MAX_LENGTH,
        "playbook name": contract.PLAYBOOK_NAME_MAX_LENGTH, "playbook description": contract.TEXT_MAX_LENGTH,
    }


def test_the_contracts_lengths_fit_the_columns_they_fill():
    """Nothing the contract lets through is cut or refused by the database."""
    assert contract.ACK_COMMENT_MAX_LENGTH == Acknowledgement._meta.get_field("comment").max_length
    assert contract.RUN_CANCEL_REASON_MAX_LENGTH == WorkflowRun._meta.get_field("ended_reason").max_length
    assert contract.AGENDA_ITEM_MAX_LENGTH == AgendaItem._meta.get_field("title").max_length


def refused(check, *args, **kwargs) -> str | None:
    try:
        check(*args, **kwargs)
    except ValidationFailed as exc:
        (field,) = exc.errors
        return field
    return None


@pytest.mark.parametrize("value, required, field", [
    ("t" * contract.TITLE_MAX_LENGTH, True, None),
    ("t" * (contract.TITLE_MAX_LENGTH + 1), True, "title"),
    (" " + "t" * contract.TITLE_MAX_LENGTH + "\n", True, None),  # the limit is after trimming
    ("   ", True, "title"),
    ("   ", False, None),
    ("第一行\n第二行", True, None),
    ("a\x00b", True, "title"),  # PostgreSQL cannot store a NUL
    (None, False, "title"),
])
def test_texts(value, required, field):
    assert refused(contract.text_checked, "title", value, limit=contract.TITLE_MAX_LENGTH,
                   required=required) == field


@pytest.mark.django_db
@pytest.mark.parametrize("codes, field", [
    ([ZHUHAI, MACAO, ZHUHAI], None),
    ([ZHUHAI, "999999"], "participants"),
    (ZHUHAI, "participants"),  # a string is not a list of codes
    ([ZHUHAI, 440400], "participants"),
])
def test_jurisdictions(gba, codes, field):
    assert refused(contract.jurisdictions_checked, "participants", codes) == field
    if field is None:
        assert contract.jurisdictions_checked("participants", codes) == [ZHUHAI, MACAO]  # each once, in order


@pytest.mark.django_db
def test_a_meeting_is_held_to_the_contract_with_no_serializer_in_front(report, zhuhai):
    from coordination.workflows.services.joint_commands import joint_command_log_add, joint_command_open
    from coordination.workflows.services.meetings import meeting_create

    incident = report()
    deliver()  # the workflows know an incident by its events

    def convene(title: str, item: str):
        return meeting_create(actor=zhuhai, title=title, scheduled_at=timezone.now() + timedelta(hours=1),
                              agenda=[{"title": item, "incident": incident.public_id}])

    assert refused(convene, "t" * (contract.TITLE_MAX_LENGTH + 1), "item") == "title"
    assert refused(convene, "title", "i" * (contract.AGENDA_ITEM_MAX_LENGTH + 1)) == "agenda.0.title"
    meeting = convene("t" * contract.TITLE_MAX_LENGTH, "i" * contract.AGENDA_ITEM_MAX_LENGTH)
    assert meeting.agenda.get().title == "i" * contract.AGENDA_ITEM_MAX_LENGTH

    command, _ = joint_command_open(actor=zhuhai, incident=incident.public_id)
    assert refused(joint_command_log_add, actor=zhuhai, joint_command_id=command.id, text="a\x00b") == "text"
    assert refused(joint_command_log_add, actor=zhuhai, joint_command_id=command.id,
                   text="x" * (contract.TEXT_MAX_LENGTH + 1)) == "text"


def _agenda(count: int, length: int) -> str:
    return "\r\n".join(f"{index:03d}".ljust(length, "x") for index in range(count))


def test_the_meeting_form_takes_a_full_agenda_and_says_the_contracts_numbers():
    def errors(agenda: str) -> list[str]:
        form = ui_forms.MeetingForm(data={"title": "联席会议", "scheduled_at": "2030-01-01T09:00", "agenda": agenda})
        return form.errors.get("agenda", []) if not form.is_valid() else []

    with translation.override("zh-hans"):
        # Every item at its longest, one a line as a browser sends them: it fits the text area.
        assert errors(_agenda(contract.MAX_AGENDA_ITEMS, contract.AGENDA_ITEM_MAX_LENGTH)) == []
        assert errors(_agenda(contract.MAX_AGENDA_ITEMS + 1, 10)) == [f"议程最多 {contract.MAX_AGENDA_ITEMS} 项。"]
        assert errors(_agenda(1, contract.AGENDA_ITEM_MAX_LENGTH + 1)) == [
            f"每项议程最多 {contract.AGENDA_ITEM_MAX_LENGTH} 个字符。"]
