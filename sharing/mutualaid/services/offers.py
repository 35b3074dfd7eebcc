"""Writes of offers on a mutual-aid request and of the commitments they become, along the
lifecycle (sharing.mutualaid.lifecycle): an offer made from one of the offerer's inventories, its
acceptance (the allocation from the offerer's stock), and the commitments' moves up to their
return (dispatched, arrived, released, returned or consumed), each with its EDXL-RM message.

Every write runs in one transaction, is audited, and emits one event per offer it moves. The
stock a commitment takes is checked again under a row lock, so concurrent acceptances never
commit more than an inventory holds (and the database refuses it anyway). Lock order, as for
requests: request, then its offers, then inventories.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.principals import Principal, require
from coordination.roles import Action
from sharing.mutualaid.contract import (
    NOTE_MAX_LENGTH,
    quantity_checked,
    text_checked,
)
from sharing.mutualaid.lifecycle import (
    ACCEPT,
    MESSAGE_SENDERS,
    STEPS,
    TAKING_OFFERS,
    OfferStatus,
    Party,
    Step,
)
from sharing.mutualaid.models import (
    Inventory,
    MovementKind,
    Offer,
    Reimbursement,
    ResourceRequest,
)
from sharing.mutualaid.services.inventories import _move
from sharing.mutualaid.services.requests import (
    _first_message,
    _last_message,
    _locked_inventories,
    _locked_offers,
    _locked_request,
    _message,
    _offer_written,
    _require_incident_open,
    _require_party,
    _restatus,
    _timeline,
)
from sharing.mutualaid.timeline import aid_note


def offer_create(*, actor: Principal, request_id, data: Mapping[str, Any]) -> Offer:
    """An offer of all or part of a request by the caller's jurisdiction, from one of its
    inventories (the one with the most available, unless it names one)."""
    require(actor, Action.WRITE_RESOURCES)
    if data.get("quantity") is None:
        raise ValidationFailed.on("quantity", "This field is required.")
    quantity = quantity_checked("quantity", data["quantity"], positive=True)
    note = text_checked("note", data.get("note"), NOTE_MAX_LENGTH)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        if actor.jurisdiction == request.requester_id:
            raise ValidationFailed.on("jurisdiction", "A jurisdiction cannot offer to its own request.")
        if actor.jurisdiction not in request.recipient_codes:
            raise PermissionDenied("This request was not sent to your jurisdiction.")
        _require_incident_open(request)
        if request.status not in TAKING_OFFERS:
            raise Conflict(f"The request is {request.status}; it no longer takes offers.",
                           request_status=request.status)
        if quantity > request.remaining:
            raise Conflict(f"Only {request.remaining} {request.resource_type.unit} are still needed.",
                           remaining=request.remaining)
        inventory = _offered_inventory(actor, request, data.get("inventory"))
        if quantity > inventory.available:
            raise Conflict(f"Inventory {inventory.pk} has {inventory.available} available; {quantity} cannot be "
                           "offered.", available=inventory.available)
        now = timezone.now()
        offer = Offer.objects.create(request=request, jurisdiction_id=actor.jurisdiction, inventory=inventory,
                                     quantity=quantity, note=note, offered_by=actor.label, created_at=now,
                                     updated_at=now)
        _message(request, "ResponseToRequestResource", sender=actor.jurisdiction, offer=offer, quantity=quantity,
                 preceding=_first_message(request), at=now, note=note)
        _offer_written("resource_request.offered", request, offer, actor, None,
                       timeline=aid_note("aid.offered", supplier=actor.jurisdiction, quantity=quantity,
                                         unit=request.resource_type.unit, request=request.pk))
    return offer


def _offered_inventory(actor: Principal, request: ResourceRequest, inventory_id) -> Inventory:
    own = Inventory.objects.filter(jurisdiction_id=actor.jurisdiction, resource_type_id=request.resource_type_id)
    if inventory_id is not None:
        inventory = own.filter(pk=inventory_id).first() if str(inventory_id).isdigit() else None
        if inventory is None:
            raise ValidationFailed.on("inventory", f"Your jurisdiction has no {request.resource_type_id} "
                                                   f"inventory {inventory_id!r}.")
        return inventory
    inventory = own.annotate(free=F("on_hand") - F("committed")).order_by("-free", "id").first()
    if inventory is None:
        raise Conflict(f"Your jurisdiction holds no {request.resource_type_id}; record the stock first.")
    return inventory


def offer_accept(*, actor: Principal, request_id, offer_id, quantity=None) -> Offer:
    """The requester accepts all or `quantity` of an offer: committed from the offerer's stock
    at once, or 409 when that stock is no longer available."""
    require(actor, ACCEPT.permission)
    wanted = None if quantity is None else quantity_checked("quantity", quantity, positive=True)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        _require_party(actor, request, ACCEPT.parties, "accept offers")
        offer = _locked_offers(request).filter(pk=offer_id).first() if str(offer_id).isdigit() else None
        if offer is None:
            raise NotFound("No such offer on this request.")
        wanted = offer.quantity if wanted is None else wanted
        if wanted > offer.quantity:
            raise ValidationFailed.on("quantity", f"Only {offer.quantity} were offered; {wanted} cannot be accepted.")
        if offer.status != ACCEPT.source:
            raise Conflict(f"The offer is {offer.status}; only an offer not yet accepted can be.",
                           offer_status=offer.status)
        _require_incident_open(request)
        if request.status not in TAKING_OFFERS:
            raise Conflict(f"The request is {request.status}; it no longer takes offers.",
                           request_status=request.status)
        if wanted > request.remaining:
            raise Conflict(f"Only {request.remaining} are still needed; {wanted} cannot be accepted.",
                           remaining=request.remaining)
        inventory = Inventory.objects.select_for_update(no_key=True).get(pk=offer.inventory_id)
        if wanted > inventory.available:
            raise Conflict(f"{offer.jurisdiction_id} no longer has {wanted} available (it has "
                           f"{inventory.available}).", available=inventory.available)
        now = timezone.now()
        _move(inventory, MovementKind.COMMITTED, wanted, actor=actor, committed_change=wanted, offer=offer, now=now,
              note=f"mutual-aid request #{request.pk}")
        offer.status = ACCEPT.target
        offer.committed_quantity = wanted
        offer.updated_at = now
        offer.save(update_fields=["status", "committed_quantity", "updated_at"])
        Reimbursement.objects.create(offer=offer)
        request.accepted_quantity += wanted
        _restatus(request, now)
        for message_type in ACCEPT.messages:
            _message(request, message_type, sender=offer.jurisdiction_id, offer=offer, quantity=wanted,
                     preceding=_last_message(offer), at=now)
        _offer_written(ACCEPT.event, request, offer, actor, ACCEPT.source,
                       timeline=aid_note("aid.accepted", requester=actor.jurisdiction, quantity=wanted,
                                         unit=request.resource_type.unit, supplier=offer.jurisdiction_id))
    return offer


def commitment_move(*, actor: Principal, request_id, action: str, offer_id=None, note: str = "") -> ResourceRequest:
    """Move commitments one step along the lifecycle (dispatch, arrive, release, return): the
    request's commitments the caller is party to that are where the step starts, or only the
    one named by `offer_id`. Nothing there to move is a 409."""
    step = STEPS.get(action)
    if step is None:
        raise NotFound(f"No action {action!r}.")
    require(actor, step.permission)
    note = text_checked("note", note, NOTE_MAX_LENGTH)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        party = _require_party(actor, request, step.parties, action)
        offers = [offer for offer in _locked_offers(request)
                  if party == Party.REQUESTER or offer.jurisdiction_id == actor.jurisdiction]
        if offer_id is not None:
            offers = [offer for offer in offers if str(offer.pk) == str(offer_id)]
            if not offers:
                raise NotFound("No such offer of yours on this request.")
        movable = [offer for offer in offers if offer.status == step.source]
        if not movable:
            statuses = sorted({offer.status for offer in offers}) or ["no commitment"]
            raise Conflict(f"Nothing to {action}: {action} moves {step.source} commitments, these are "
                           f"{', '.join(statuses)}.", request_status=request.status)
        now = timezone.now()
        inventories = _locked_inventories(movable)
        for offer in movable:
            _step(request, offer, inventories[offer.inventory_id], step, actor=actor, now=now, note=note)
        _restatus(request, now)
        for offer in movable:
            _offer_written(step.event, request, offer, actor, step.source)
        quantity = sum(offer.committed_quantity for offer in movable)
        _timeline(request, actor, aid_note(f"aid.{step.target}", request=request.pk, quantity=quantity,
                                           unit=request.resource_type.unit,
                                           suppliers=sorted({o.jurisdiction_id for o in movable})))
    return request


def _step(request: ResourceRequest, offer: Offer, inventory: Inventory, step: Step, *, actor: Principal,
          now: datetime, note: str) -> None:
    quantity = offer.committed_quantity
    if step.target == OfferStatus.RETURNED and request.resource_type.consumable:
        # Supplies are used up where they went: they leave the stock and the commitment.
        _move(inventory, MovementKind.CONSUMED, quantity, actor=actor, on_hand_change=-quantity,
              committed_change=-quantity, offer=offer, now=now, note=note)
    elif step.target == OfferStatus.RETURNED:
        _move(inventory, MovementKind.RETURNED, quantity, actor=actor, committed_change=-quantity, offer=offer,
              now=now, note=note)
    else:
        _move(inventory, MovementKind(step.target.value), quantity, actor=actor, offer=offer, now=now, note=note)
    offer.status = step.target
    offer.updated_at = now
    offer.save(update_fields=["status", "updated_at"])
    preceding = _last_message(offer)
    for message_type in step.messages:
        preceding = _message(request, message_type, sender=_sender(message_type, request, offer, actor), offer=offer,
                             quantity=quantity, preceding=preceding, at=now,
                             deployment_status=step.deployment_status, note=note)


def _sender(message_type: str, request: ResourceRequest, offer: Offer, actor: Principal) -> str:
    """Who sends a message of the thread: as EDXL-RM has it, or whoever reported a status."""
    party = MESSAGE_SENDERS[message_type]
    if party == Party.REQUESTER:
        return request.requester_id
    if party == Party.SUPPLIER:
        return offer.jurisdiction_id
    return actor.jurisdiction
