"""Resources and the mutual-aid board: stock the officer may see (its own, and others' under
an agreement), the requests that concern its jurisdiction with their offers, and the moves
along the mutual-aid lifecycle. Reads through sharing.mutualaid.selectors, writes through
sharing.mutualaid.services.requests and .inventories (the same the API calls), stock included:
an officer records and corrects its own jurisdiction's stock here as the API and the CSV import
do, with the same permission and the same audit (issue 19)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import Conflict, NotFound, ValidationFailed
from coordination.roles import Action
from sharing.mutualaid import selectors as aid_selectors
from sharing.mutualaid.lifecycle import STEPS
from sharing.mutualaid.services import inventories as aid_inventories
from sharing.mutualaid.services import offers as aid_offers
from sharing.mutualaid.services import requests as aid_requests
from ui import screens
from ui.access import officer_view, page
from ui.forms import AcceptForm, OfferForm
from ui.stock_forms import StockCorrectForm, StockRecordForm, service_error


def _board(request, *, offer_forms=None, record_form=None, correct_form=None, status: int = 200):
    context = screens.aid_board(principal=request.principal, offer_forms=offer_forms,
                                show_finished=request.GET.get("finished") == "1")
    principal = request.principal
    # The stock forms go to whoever the inventory service lets write stock: its role, for
    # its own jurisdiction's rows only.
    may_write = principal.can(Action.WRITE_RESOURCES)
    ours = [item for item in context["inventories"] if item["jurisdiction"] == principal.jurisdiction]
    context["may_record_stock"] = may_write
    context["record_form"] = record_form or (StockRecordForm(prefix="record") if may_write else None)
    context["our_stock"] = [
        {"inventory": item,
         "form": (correct_form if correct_form is not None and correct_form.prefix == f"stock-{item['id']}"
                  else StockCorrectForm(prefix=f"stock-{item['id']}",
                                        initial={"on_hand": item["on_hand"],
                                                 "location": (item.get("location") or {}).get("name", "")}))}
        for item in ours] if may_write else []
    return page(request, "ui/resources.html", context, active="resources", status=status)


@officer_view
def board(request):
    return _board(request)


@require_POST
@officer_view
def offer_create(request, request_id):
    form = OfferForm(request.POST)
    if form.is_valid():
        try:
            aid_offers.offer_create(actor=request.principal, request_id=request_id, data=form.cleaned_data)
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
        aid_offers.offer_accept(actor=request.principal, request_id=request_id, offer_id=offer_id, quantity=quantity)
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
            aid_offers.commitment_move(actor=request.principal, request_id=request_id, action=action)
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


@require_POST
@officer_view
def stock_record(request):
    form = StockRecordForm(request.POST, prefix="record")
    if form.is_valid():
        try:
            aid_inventories.inventory_upsert(actor=request.principal, jurisdiction=request.principal.jurisdiction,
                                             data=form.data_for_service())
        except (Conflict, ValidationFailed) as exc:
            service_error(form, exc)
        else:
            messages.success(request, _("Stock recorded."))
            return redirect("ui:resources")
    return _board(request, record_form=form, status=400)


@require_POST
@officer_view
def stock_correct(request, inventory_id):
    form = StockCorrectForm(request.POST, prefix=f"stock-{inventory_id}")
    if form.is_valid():
        current = aid_selectors.inventory_read_by(principal=request.principal, inventory_id=inventory_id)
        try:
            aid_inventories.inventory_update(actor=request.principal, inventory_id=inventory_id,
                                             data=form.data_for(current))
        except (Conflict, ValidationFailed) as exc:
            service_error(form, exc)
        else:
            messages.success(request, _("Stock corrected."))
            return redirect("ui:resources")
    return _board(request, correct_form=form, status=400)
