"""Alerts: the ones the officer may see (received from warning systems or issued from
incidents), each with its CAP 1.2 document as the officer may have it; and issuing them from an
incident: a commander of the reporting jurisdiction drafts one on the incident's page, checks
its CAP preview, approves it, and later updates or cancels it.

Reads through incidents.alerts.selectors (a draft is its owner's alone: anyone else gets a
404), writes through incidents.alerts.issuing, the functions the API calls.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import Conflict, NotFound, ValidationFailed
from incidents.alerts import issuing as alert_issuing
from incidents.alerts import selectors as alert_selectors
from incidents.alerts.languages import language_state, traditional_languages
from incidents.alerts.models import AlertState
from ui import screens
from ui.access import officer_view, page
from ui.forms import AlertApproveForm, AlertCancelForm, AlertTermsForm, AlertWordingForm, attach_errors
from ui.views.incidents import Forms, detail_page

ALERT_PAGE = 100


@officer_view
def alerts(request):
    principal = request.principal
    rows = alert_selectors.alert_list_visible_to(principal=principal).order_by("-sent", "id")[:ALERT_PAGE]
    return page(request, "ui/alerts/list.html", {
        "alerts": alert_selectors.alert_views(principal=principal, alerts=rows),
        "states": AlertState,
    }, active="alerts")


def _alert_page(request, alert_id, *, status: int = 200, wording_form=None, **forms):
    context = screens.alert_screen(principal=request.principal, alert_id=alert_id, **forms)
    view, alert = context["view"], context["alert"]
    # The language blocks: whether they drifted apart since they last agreed (said in the
    # reader's language, beside the approve button and the preview), and the draft's wording
    # side by side, with the Traditional block Hong Kong's or Macao's readers need.
    languages = language_state(agreed=alert.language_fingerprints, infos=view.message.infos)
    context.update({
        "languages": languages,
        "language_drift": languages.message(),
        "traditional": traditional_languages({alert.owner_id, *(link.jurisdiction_id
                                                                for link in alert.affected.all())}),
        "wording_form": wording_form or AlertWordingForm.of(view.message.infos),
        "approve_form": AlertApproveForm(),
    })
    return page(request, "ui/alerts/detail.html", context, active="alerts", status=status)


@officer_view
def alert_detail(request, alert_id):
    return _alert_page(request, alert_id)


def _done(request, alert, message: str):
    messages.success(request, message % {"identifier": alert.identifier})
    return redirect("ui:alert", alert_id=alert.pk)


def _refused(request, alert_id, exc: Conflict):
    messages.error(request, exc.detail)
    return redirect("ui:alert", alert_id=alert_id)


@require_POST
@officer_view
def alert_draft(request, public_id):
    form = AlertTermsForm(request.POST)
    if form.is_valid():
        try:
            alert = alert_issuing.alert_draft(actor=request.principal, incident=public_id, data=form.terms())
        except ValidationFailed as exc:
            if "incident" in (exc.errors or {}):  # an incident the officer may not see
                raise NotFound() from None
            attach_errors(form, exc)
        except Conflict as exc:
            # The incident is closed: its page no longer shows the draft form (nor its errors),
            # so the reason is told on top of the page, as the incident's other writes do.
            messages.error(request, exc.detail)
            return redirect("ui:incident", public_id=public_id)
        else:
            return _done(request, alert, _(
                "Alert %(identifier)s drafted: check it and its CAP preview, then approve it."))
    return detail_page(request, public_id, Forms(alert=form), status=400)


@require_POST
@officer_view
def alert_approve(request, alert_id):
    form = AlertApproveForm(request.POST)
    confirmed = form.is_valid() and form.cleaned_data["confirm_languages"]
    try:
        alert = alert_issuing.alert_approve(actor=request.principal, alert_id=alert_id, confirm_languages=confirmed)
    except Conflict as exc:
        return _refused(request, alert_id, exc)
    return _done(request, alert, _("Alert %(identifier)s approved and issued."))


@require_POST
@officer_view
def alert_wording(request, alert_id):
    """A draft's wording, changed side by side; the page then says whether the languages agree."""
    form = AlertWordingForm(request.POST)
    if form.is_valid():
        try:
            alert = alert_issuing.alert_edit_draft(actor=request.principal, alert_id=alert_id,
                                                   data=form.data_for_service())
        except ValidationFailed as exc:
            attach_errors(form, exc)
        except Conflict as exc:
            return _refused(request, alert_id, exc)
        else:
            return _done(request, alert, _("The wording of alert %(identifier)s is saved."))
    return _alert_page(request, alert_id, wording_form=form, status=400)


@require_POST
@officer_view
def alert_update(request, alert_id):
    form = AlertTermsForm(request.POST)
    if form.is_valid():
        try:
            update = alert_issuing.alert_update(actor=request.principal, alert_id=alert_id,
                                                data=form.terms(update=True))
        except ValidationFailed as exc:
            attach_errors(form, exc)
        except Conflict as exc:
            return _refused(request, alert_id, exc)
        else:
            return _done(request, update, _("Update %(identifier)s issued."))
    return _alert_page(request, alert_id, update_form=form, status=400)


@require_POST
@officer_view
def alert_cancel(request, alert_id):
    form = AlertCancelForm(request.POST)
    if form.is_valid():
        try:
            cancel = alert_issuing.alert_cancel(actor=request.principal, alert_id=alert_id,
                                                note=form.cleaned_data["note"])
        except Conflict as exc:
            return _refused(request, alert_id, exc)
        else:
            return _done(request, cancel, _("Cancellation %(identifier)s issued: the alert is cancelled."))
    return _alert_page(request, alert_id, cancel_form=form, status=400)
