"""Sharing agreements (every member reads its cluster's; coordinators make and end them) and
public alerts (the ones the officer may see, each with its CAP 1.2 document as the officer
may have it). Reads and writes through sharing.services and incidents.alerts.selectors."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from lxml import etree

from config.errors import ValidationFailed
from incidents.alerts import selectors as alert_selectors
from incidents.alerts.models import AlertState
from sharing import services as sharing_services
from sharing.models import DataKind
from ui import registry
from ui.access import officer_view, page
from ui.forms import AgreementForm, attach_errors

ALERT_PAGE = 100
# Our own rendering is re-read only to indent it; still, nothing in it is ever expanded or fetched.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def _agreement_form(request, data=None) -> AgreementForm:
    cluster = registry.home_cluster(request.principal)
    return AgreementForm(data, jurisdictions=registry.members(cluster.code) if cluster else [])


@officer_view
def agreements(request):
    principal = request.principal
    if request.method == "POST":
        form = _agreement_form(request, request.POST)
        if form.is_valid():
            try:
                sharing_services.agreement_create(actor=principal, **form.terms())
            except ValidationFailed as exc:
                attach_errors(form, exc, AgreementForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("Sharing agreement made."))
                return redirect("ui:agreements")
        status = 400
    else:
        form, status = _agreement_form(request), 200
    rows = sharing_services.agreements_visible_to(principal=principal).select_related("grantor")
    return page(request, "ui/agreements.html", {
        "agreements": list(rows.order_by("-is_active", "name")),
        "form": form,
        "data_kinds": DataKind,
    }, active="agreements", status=status)


@require_POST
@officer_view
def agreement_deactivate(request, agreement_id):
    agreement = sharing_services.agreement_get(principal=request.principal, agreement_id=agreement_id)
    sharing_services.agreement_deactivate(actor=request.principal, agreement=agreement)
    messages.success(request, _("The agreement is no longer in force."))
    return redirect("ui:agreements")


# --- alerts ------------------------------------------------------------------------------------------------


@officer_view
def alerts(request):
    principal = request.principal
    rows = alert_selectors.alert_list_visible_to(principal=principal).order_by("-sent", "id")[:ALERT_PAGE]
    return page(request, "ui/alerts/list.html", {
        "alerts": alert_selectors.alert_views(principal=principal, alerts=rows),
        "states": AlertState,
    }, active="alerts")


@officer_view
def alert_detail(request, alert_id):
    principal = request.principal
    view = alert_selectors.alert_get_visible_to(principal=principal, alert_id=alert_id)
    document = alert_selectors.alert_cap_document(principal=principal, alert_id=alert_id)
    try:
        pretty = etree.tostring(etree.fromstring(document, SAFE_PARSER), pretty_print=True, encoding="unicode")
    except etree.XMLSyntaxError:  # our own rendering; shown as it is if it ever does not parse
        pretty = document.decode("utf-8", "replace")
    return page(request, "ui/alerts/detail.html", {"view": view, "cap": pretty, "states": AlertState},
                active="alerts")

