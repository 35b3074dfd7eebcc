"""Incidents: the list with its filters, one incident (timeline, situation reports, workflow
progress, acknowledgements, mutual aid, alerts), reporting one, and the writes an officer makes
on one (drafting an alert: ui/views/alerts.py).

Reads go through the incidents' and workflows' selectors (the visibility rule, redaction and
read audit are theirs), writes through the services the API calls (they check who may).
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ApplicationError, Conflict, ValidationFailed
from coordination.workflows.services import joint_commands, meetings
from incidents import contract, lifecycle, selectors, services
from incidents.api.filters import IncidentFilter
from sharing.mutualaid import selectors as aid_selectors
from sharing.mutualaid.services import requests as aid_requests
from ui import mapdata, registry, screens
from ui.access import basics, is_htmx, officer_view, page
from ui.forms import (
    AlertTermsForm,
    IncidentFilterForm,
    JointCommandForm,
    MeetingForm,
    ReportForm,
    ResourceRequestForm,
    SitrepForm,
    TransitionForm,
    UpdateForm,
    attach_errors,
)
from ui.labels import type_category
from ui.views import places

PAGE_SIZE = 50


# --- the list ----------------------------------------------------------------------------------------


@officer_view
def incident_list(request):
    principal = request.principal
    cluster = registry.home_cluster(principal)
    form = IncidentFilterForm(request.GET or {"status": IncidentFilterForm.STATUS_OPEN},
                              jurisdictions=registry.members(cluster.code) if cluster else [])
    filters = form.filter_data() if form.is_valid() else {"status": ",".join(sorted(lifecycle.OPEN_STATUSES))}
    incidents = IncidentFilter(data=filters, queryset=selectors.incident_list_visible_to(principal=principal)).qs
    paginator = Paginator(incidents.order_by("-updated_at", "-id"), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    items = selectors.incidents_read_by(principal=principal, incidents=list(page_obj.object_list))
    context = {"form": form, "items": items, "page_obj": page_obj, "query": _query_without_page(request)}
    if is_htmx(request):
        return render(request, "ui/incidents/_results.html", {**basics(request), **context})
    return page(request, "ui/incidents/list.html", context, active="incidents")


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- one incident --------------------------------------------------------------------------------------


@dataclass
class Forms:
    transition: TransitionForm = field(default_factory=TransitionForm)
    update: UpdateForm = field(default_factory=UpdateForm)
    sitrep: SitrepForm = field(default_factory=SitrepForm)
    aid: ResourceRequestForm | None = None
    command: JointCommandForm = field(default_factory=JointCommandForm)
    meeting: MeetingForm = field(default_factory=MeetingForm)
    alert: AlertTermsForm = field(default_factory=AlertTermsForm)


def detail_page(request, public_id: str, forms: Forms | None = None, *, status: int = 200):
    parts = screens.incident_parts(principal=request.principal, public_id=public_id)
    forms = forms or Forms()
    if forms.aid is None:
        forms.aid = ResourceRequestForm(resource_types=aid_selectors.resource_type_list())
    return page(request, "ui/incidents/detail.html", {**parts, "forms": forms}, active="incidents", status=status)


@officer_view
def incident_detail(request, public_id):
    return detail_page(request, public_id)


@officer_view
def incident_parts(request, public_id):
    """The live parts alone (htmx swaps each into its place)."""
    parts = screens.incident_parts(principal=request.principal, public_id=public_id)
    return render(request, "ui/incidents/_parts.html", {**basics(request), **parts})


@officer_view
def incident_reached(request, public_id):
    """Who was reached (coordination.notify.selectors.reached_of_incident): the part the page
    loads, and asks for again when the stream says a notification of this incident moved."""
    from coordination.notify.selectors import reached_of_incident

    reached = reached_of_incident(principal=request.principal, incident=public_id)
    return render(request, "ui/incidents/_reached.html",
                  {**basics(request), "reached": reached, "reached_loaded": True, "public_id": public_id})


@officer_view
def incident_map(request, public_id):
    data = selectors.incident_read_by(principal=request.principal, public_id=public_id)[1]
    return JsonResponse(mapdata.incident_layer([data]))


def _done(request, public_id: str, message: str):
    messages.success(request, message)
    return redirect("ui:incident", public_id=public_id)


def _refused(request, public_id: str, exc: ApplicationError):
    """A write the service refused for a reason that is not about one field (a conflict)."""
    messages.error(request, exc.detail)
    return redirect("ui:incident", public_id=public_id)


@require_POST
@officer_view
def incident_transition(request, public_id):
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return detail_page(request, public_id, Forms(transition=form), status=400)
    try:
        services.incident_transition(actor=request.principal, public_id=public_id,
                                     status=form.cleaned_data["status"], note=form.cleaned_data["note"])
    except ValidationFailed as exc:
        # The closing note missing: the confirm step opens again with the error at the note,
        # in the officer's language (the service's words are the API's, in English).
        if "note" in (exc.errors or {}):
            message = _("Closing or cancelling needs a closing note (at least %(count)s characters).")
            form.add_error("note", message % {"count": contract.CLOSING_NOTE_MIN_LENGTH})
        else:
            attach_errors(form, exc)
        return detail_page(request, public_id, Forms(transition=form), status=400)
    except Conflict as exc:
        return _refused(request, public_id, exc)
    return _done(request, public_id, _("Status changed to %(status)s.") % {
        "status": lifecycle.Status(form.cleaned_data["status"]).label})


@require_POST
@officer_view
def incident_update_add(request, public_id):
    form = UpdateForm(request.POST)
    if form.is_valid():
        try:
            services.incident_update_add(actor=request.principal, public_id=public_id,
                                         text=form.cleaned_data["text"], figures=form.figures())
            return _done(request, public_id, _("Update added to the timeline."))
        except ValidationFailed as exc:
            attach_errors(form, exc, {"figures": "deaths"})
    return detail_page(request, public_id, Forms(update=form), status=400)


@require_POST
@officer_view
def sitrep_submit(request, public_id):
    form = SitrepForm(request.POST)
    if form.is_valid():
        try:
            services.sitrep_submit(actor=request.principal, public_id=public_id, data=form.sitrep_data())
            return _done(request, public_id, _("Situation report saved."))
        except ValidationFailed as exc:
            attach_errors(form, exc)
    return detail_page(request, public_id, Forms(sitrep=form), status=400)


@require_POST
@officer_view
def resource_request_create(request, public_id):
    form = ResourceRequestForm(request.POST, resource_types=aid_selectors.resource_type_list())
    if form.is_valid():
        try:
            aid_requests.resource_request_create(actor=request.principal, data=form.request_data(public_id))
            return _done(request, public_id, _("Mutual aid requested."))
        except Conflict as exc:
            form.add_error(None, exc.detail)
        except ValidationFailed as exc:
            attach_errors(form, exc)
    return detail_page(request, public_id, Forms(aid=form), status=400)


@require_POST
@officer_view
def joint_command_open(request, public_id):
    form = JointCommandForm(request.POST)
    if not form.is_valid():
        return detail_page(request, public_id, Forms(command=form), status=400)
    try:
        opened = joint_commands.joint_command_open(actor=request.principal, incident=public_id,
                                                   name=form.cleaned_data["name"])[1]
    except (Conflict, ValidationFailed) as exc:
        # Among the refusals: an incident the playbook engine has not heard of yet.
        return _refused(request, public_id, exc)
    return _done(request, public_id, _("Joint command opened.") if opened else _("The joint command is open."))


@require_POST
@officer_view
def meeting_convene(request, public_id):
    form = MeetingForm(request.POST)
    if form.is_valid():
        try:
            meetings.meeting_create(actor=request.principal, title=form.cleaned_data["title"],
                                    scheduled_at=form.cleaned_data["scheduled_at"],
                                    agenda=form.agenda_for(public_id))
            return _done(request, public_id, _("Joint meeting convened."))
        except ValidationFailed as exc:
            attach_errors(form, exc, {"incident": "agenda"})
    return detail_page(request, public_id, Forms(meeting=form), status=400)


# --- reporting -------------------------------------------------------------------------------------------


@officer_view
def incident_report(request):
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                outcome = services.incident_report(actor=request.principal, data=form.report_data())
            except ValidationFailed as exc:
                attach_errors(form, exc, ReportForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("Incident %(id)s reported.") % {"id": outcome.incident.public_id})
                return redirect("ui:incident", public_id=outcome.incident.public_id)
        status = 400
    else:
        form = ReportForm()
        status = 200
    # The map starts at the officer's city (a coordinator's: the cluster), issue 19.
    return page(request, "ui/incidents/report.html",
                {"form": form, "type_category": type_category(),
                 "start_bounds": places.start_bounds(request.principal)},
                active="report", status=status)
