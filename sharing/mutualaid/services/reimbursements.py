"""Writes of a commitment's costs: the supplier claims, the requester approves and pays
(sharing.mutualaid.lifecycle's REIMBURSEMENT_STEPS). One transaction each, audited, with the
offer's event.
"""

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.principals import Principal, require
from sharing.mutualaid.contract import NOTE_MAX_LENGTH, amount_checked, currency_checked, text_checked
from sharing.mutualaid.lifecycle import REIMBURSEMENT_STEPS, STAGES, Party
from sharing.mutualaid.models import Offer, Reimbursement
from sharing.mutualaid.services.requests import _locked_offers, _locked_request, _offer_written


def reimbursement_record(*, actor: Principal, request_id, offer_id, action: str, amount, currency: str | None = None,
                         note: str = "") -> Offer:
    """A step of a commitment's costs: the supplier claims, the requester approves and pays."""
    step = REIMBURSEMENT_STEPS.get(action)
    if step is None:
        raise ValidationFailed.on("action", f"Unknown action {action!r}; one of {', '.join(REIMBURSEMENT_STEPS)}.")
    require(actor, step.permission)
    amount = amount_checked(amount)
    note = text_checked("note", note, NOTE_MAX_LENGTH)
    currency_checked(currency)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        offer = (_locked_offers(request).filter(pk=offer_id).first() if str(offer_id).isdigit() else None)
        if offer is None or offer.status not in STAGES:
            raise NotFound("No such commitment on this request.")
        party = Party.REQUESTER if actor.jurisdiction == request.requester_id else (
            Party.SUPPLIER if actor.jurisdiction == offer.jurisdiction_id else None)
        if party != step.party:
            raise PermissionDenied(f"Only the {step.party.label.lower()} may {action}.")
        reimbursement = Reimbursement.objects.select_for_update(no_key=True).get(offer=offer)
        if reimbursement.status not in step.source:
            raise Conflict(f"The reimbursement is {reimbursement.status}; {action} comes after "
                           f"{' or '.join(sorted(step.source))}.", reimbursement_status=reimbursement.status)
        if currency and action != "claim" and currency != reimbursement.currency:
            raise ValidationFailed.on("currency", f"The claim is in {reimbursement.currency}.")
        now = timezone.now()
        if action == "claim":
            reimbursement.claimed_amount, reimbursement.claimed_at = amount, now
            reimbursement.currency = currency or reimbursement.currency
        elif action == "approve":
            if amount > reimbursement.claimed_amount:
                raise ValidationFailed.on("amount", f"At most the {reimbursement.claimed_amount} claimed.")
            reimbursement.approved_amount, reimbursement.approved_at = amount, now
        else:
            if amount > reimbursement.approved_amount:
                raise ValidationFailed.on("amount", f"At most the {reimbursement.approved_amount} approved.")
            reimbursement.paid_amount, reimbursement.paid_at = amount, now
        reimbursement.status = step.target
        reimbursement.note = note or reimbursement.note
        reimbursement.save()
        offer.reimbursement = reimbursement
        _offer_written("resource_request.reimbursement_updated", request, offer, actor, None,
                       detail={"action": action, "amount": str(amount)})
    return offer

