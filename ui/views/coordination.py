"""Joint prevention and control in the UI: acknowledging, approving a playbook's alert, the
joint command and meetings screen, its log and tasks. Reads through
coordination.workflows.selectors, writes through coordination.workflows.services."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import Conflict, NotFound, ValidationFailed
from coordination.workflows.models import Meeting, TaskStatus
from coordination.workflows.selectors import joint_commands_visible_to, meetings_visible_to
from coordination.workflows.services import acknowledgements, joint_commands, meetings, run_control
from ui import screens
from ui.access import basics, is_htmx, officer_view, page
from ui.forms import DecisionForm, LogEntryForm, TaskForm, TaskMoveForm, attach_errors
from ui.views.dashboard import owed_context


def _back(request, fallback: str):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@require_POST
@officer_view
def acknowledge(request, ack_id):
    try:
        ack = acknowledgements.acknowledgement_acknowledge(actor=request.principal, acknowledgement_id=ack_id,
                                                           comment=request.POST.get("comment", ""))
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Acknowledged for %(incident)s.") % {"incident": ack.incident_id})
    if is_htmx(request):
        return render(request, "ui/fragments/owed.html", {**basics(request), **owed_context(request.principal)})
    return _back(request, "ui:dashboard")


@require_POST
@officer_view
def step_approve(request, run_id, index):
    try:
        run_control.workflow_step_approve(actor=request.principal, run_id=run_id, step_index=index)
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Alert approved."))
    return _back(request, "ui:dashboard")


# --- joint command and meetings ------------------------------------------------------------------------


def _command_page(request, *, forms=None, status: int = 200):
    return page(request, "ui/command.html", screens.command_screen(principal=request.principal, forms=forms),
                active="command", status=status)


@officer_view
def command(request):
    return _command_page(request)


def _command_write(request, key: str, form, write, success: str):
    """A form post on the command screen: the service's field errors next to the fields, its
    refusals (a conflict) above the form, success as a message."""
    if form.is_valid():
        try:
            write(form.cleaned_data)
        except Conflict as exc:
            form.add_error(None, exc.detail)
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("ui:command")
    return _command_page(request, forms={key: form}, status=400)


@require_POST
@officer_view
def joint_command_log(request, command_id):
    return _command_write(
        request, f"log-{command_id}", LogEntryForm(request.POST),
        lambda data: joint_commands.joint_command_log_add(actor=request.principal, joint_command_id=command_id,
                                                          text=data["text"]),
        _("Log entry added."))


@require_POST
@officer_view
def joint_command_task(request, command_id):
    command = joint_commands_visible_to(principal=request.principal).filter(pk=command_id).first()
    if command is None:
        raise NotFound()
    return _command_write(
        request, f"task-{command_id}", TaskForm(request.POST, participants=screens.participants(command)),
        lambda data: joint_commands.joint_command_task_add(actor=request.principal, joint_command_id=command_id,
                                                           title=data["title"], assignee=data["assignee"],
                                                           due_at=data.get("due_at")),
        _("Task assigned."))


@require_POST
@officer_view
def joint_command_close(request, command_id):
    joint_commands.joint_command_close(actor=request.principal, joint_command_id=command_id)
    messages.success(request, _("Joint command closed."))
    return redirect("ui:command")


@require_POST
@officer_view
def meeting_decision(request, meeting_id):
    meeting = meetings_visible_to(principal=request.principal).filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    return _command_write(
        request, f"decision-{meeting_id}", DecisionForm(request.POST, agenda=meeting.agenda.all()),
        lambda data: meetings.meeting_decision_record(actor=request.principal, meeting_id=meeting_id,
                                                      text=data["text"], agenda_item=data.get("agenda_item")),
        _("Decision recorded."))


@require_POST
@officer_view
def meeting_close(request, meeting_id):
    status = request.POST.get("status", "")
    try:
        meetings.meeting_close(actor=request.principal, meeting_id=meeting_id, status=status)
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("The meeting is now %(status)s.") % {"status": Meeting.Status(status).label})
    return redirect("ui:command")


@require_POST
@officer_view
def task_move(request, task_id):
    form = TaskMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status for the task."))
        return _back(request, "ui:command")
    try:
        joint_commands.task_transition(actor=request.principal, task_id=task_id, status=form.cleaned_data["status"])
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Task is now %(status)s.") % {
            "status": TaskStatus(form.cleaned_data["status"]).label})
    return _back(request, "ui:command")
