"""Resources and the mutual-aid board: stock the officer may see (its own, and others' under
an agreement), the requests that concern its jurisdiction with their offers, and the moves
along the mutual-aid lifecycle. Reads through sharing.mutualaid.selectors, writes through
sharing.mutualaid.services.requests (the same the API calls)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import Conflict, NotFound, ValidationFailed
from sharing.mutualaid.lifecycle import STEPS
from sharing.mutualaid.services import requests as aid_requests
from ui import screens
from ui.access import officer_view, page
from ui.forms import AcceptForm, OfferForm


def _board(request, *, offer_forms=None, status: int = 200):
    return page(request, "ui/resources.html", screens.aid_board(principal=request.principal, offer_forms=offer_forms),
                active="resources", status=status)


@officer_view
def board(request):
    return _board(request)


@require_POST
@officer_view
def offer_create(request, request_id):
    form = OfferForm(request.POST)
    if form.is_valid():
        try:
            aid_requests.offer_create(actor=request.principal, request_id=request_id, data=form.cleaned_data)
        except (Conflict, ValidationFailed) as exc:
            form.add_error("quantity" if exc.errors and "quantity" in exc.errors else None, exc.detail)
        else:
            messages.success(request, _("Offer sent."))
            return redirect("ui:resources")
    return _board(request, offer_forms={request_id: form}, status=400)


@require_POST
@officer_view
def offer_accept(request, request_id, offer_id):
    form = AcceptForm(request.POST)
    quantity = form.cleaned_data.get("quantity") if form.is_valid() else None
    try:
        aid_requests.offer_accept(actor=request.principal, request_id=request_id, offer_id=offer_id, quantity=quantity)
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Offer accepted: the resources are committed."))
    return redirect("ui:resources")


@require_POST
@officer_view
def request_action(request, request_id, action):
    try:
        if action in STEPS:
            aid_requests.commitment_move(actor=request.principal, request_id=request_id, action=action)
        elif action == "cancel":
            aid_requests.resource_request_cancel(actor=request.principal, request_id=request_id)
        elif action == "widen":
            aid_requests.resource_request_widen(actor=request.principal, request_id=request_id)
        else:
            raise NotFound()
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Mutual aid request updated."))
    return redirect("ui:resources")
