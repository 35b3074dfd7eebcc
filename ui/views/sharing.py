"""Sharing agreements: every member reads its cluster's; coordinators make and end them.
Reads and writes through sharing.services."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ValidationFailed
from sharing import services as sharing_services
from sharing.models import DataKind
from ui import registry
from ui.access import officer_view, page
from ui.forms import AgreementForm, attach_errors


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
