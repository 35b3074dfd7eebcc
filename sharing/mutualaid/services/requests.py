"""Writes of mutual-aid requests along the lifecycle (sharing.mutualaid.lifecycle): a request
made, widened, cancelled; offers, their acceptance (the allocation from the offerer's stock) and
the commitments' moves up to their return. Also the helpers the reimbursements share: loading a
request and its offers locked, and an offer's event.

Every write runs in one transaction, is audited, and emits one event per row it moves
(a request, or an offer/commitment). Quantities are checked before anything is written; the
stock a commitment takes is checked again under a row lock, so concurrent acceptances never
commit more than an inventory holds (and the database refuses it anyway).
Lock order, everywhere: request, then its offers, then inventories.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.principals import Principal, require
from coordination.registry import registry
from coordination.roles import Action
from incidents import lifecycle as incident_lifecycle
from incidents.models import Incident, TimelineKind
from incidents.selectors import incident_facts
from incidents.services import incident_timeline_record
from sharing.eventlog import Subject, emit_event
from sharing.models import DataKind
from sharing.mutualaid.contract import contacts_checked as _contacts
from sharing.mutualaid.contract import place_checked as _place
from sharing.mutualaid.contract import quantity_checked as _count
from sharing.mutualaid.contract import resource_type_checked as _resource_type
from sharing.mutualaid.contract import text_checked as _text
from sharing.mutualaid.contract import unit_checked as _check_unit
from sharing.mutualaid.lifecycle import (
    ACCEPT,
    CANCEL_PERMISSION,
    CANCELLABLE,
    CLOSED,
    MESSAGE_SENDERS,
    STAGES,
    STEPS,
    TAKING_OFFERS,
    OfferStatus,
    Party,
    RequestStatus,
    Step,
    request_status,
)
from sharing.mutualaid.models import (
    Inventory,
    MovementKind,
    Offer,
    Reach,
    Reimbursement,
    RequestMessage,
    RequestRecipient,
    ResourceRequest,
)
from sharing.mutualaid.payloads import fields_from_incident, offer_data, request_data
from sharing.mutualaid.selectors import request_facts, request_incident_facts
from sharing.mutualaid.services.checks import _cluster_of
from sharing.mutualaid.services.inventories import _move
from sharing.mutualaid.timeline import aid_note
from sharing.visibility import Viewer, decide

# City systems' clocks drift: a "needed by" this far in the past is still taken as "now".
NEEDED_BY_SKEW = timedelta(minutes=10)

# The cluster's default shares levels I and II with every member, so a request for such an
# incident goes to the whole cluster at once; otherwise to the neighbours first.
WHOLE_CLUSTER_LEVELS = frozenset({"I", "II"})


# --- requests -----------------------------------------------------------------------------------------


def _incident(actor: Principal, public_id) -> tuple[Incident, list[str]]:
    incident = Incident.objects.filter(public_id=str(public_id)).prefetch_related("affected").first()
    if incident is None:
        raise ValidationFailed.on("incident", f"No incident {public_id!r}.")
    affected = sorted(row.jurisdiction_id for row in incident.affected.all())
    if not decide(Viewer.of(actor), incident_facts(incident, affected=affected)):
        raise ValidationFailed.on("incident", f"No incident {public_id!r}.")
    return incident, affected


def eligible_recipients(*, requester: str, cluster: str, level: str, resource_type: str) -> dict[str, Reach]:
    """Who a request goes to: neighbours first, then the cluster.

    The requester's neighbours always. The rest of the cluster at once when the incident is
    level I or II, or when no neighbour holds any of the type available (asking only them
    would wait for nothing); otherwise when the requester widens the request.
    """
    ctx = registry()
    neighbours = set(ctx.neighbours.get(requester, ())) - {requester}
    recipients = {code: Reach.NEIGHBOURS for code in neighbours}
    neighbours_hold_some = Inventory.objects.filter(
        jurisdiction_id__in=neighbours, resource_type_id=resource_type, on_hand__gt=F("committed")
    ).exists()
    if level in WHOLE_CLUSTER_LEVELS or not neighbours_hold_some:
        for code in ctx.members.get(cluster, ()):
            recipients.setdefault(code, Reach.CLUSTER)
    recipients.pop(requester, None)
    return recipients


def resource_request_create(*, actor: Principal, data: Mapping[str, Any]) -> ResourceRequest:
    """A mutual-aid request for the caller's jurisdiction (POST /resource-requests/)."""
    require(actor, Action.WRITE_RESOURCES)
    for name in ("incident", "resource_type", "quantity", "needed_by"):
        if data.get(name) in (None, ""):
            raise ValidationFailed.on(name, "This field is required.")
    rtype = _resource_type(data["resource_type"])
    _check_unit(rtype, data.get("unit"))
    quantity = _count("quantity", data["quantity"], positive=True)
    needed_by = data["needed_by"]
    now = timezone.now()
    if not isinstance(needed_by, datetime):
        raise ValidationFailed.on("needed_by", "A date and time with an offset is expected.")
    if needed_by < now - NEEDED_BY_SKEW:
        raise ValidationFailed.on("needed_by", "This time has passed.")
    incident, affected = _incident(actor, data["incident"])
    if actor.jurisdiction not in {incident.reporting_jurisdiction_id, *affected}:
        raise PermissionDenied(f"Only a jurisdiction affected by {incident.public_id} asks for mutual aid for it.")
    if not incident_lifecycle.is_open(incident.status):
        raise Conflict(f"{incident.public_id} is {incident.status}; mutual aid is asked for open incidents.")
    # No place named: the resources go to the incident, whose location the request's data
    # shows (payloads.request_location) to whoever may see the incident. It is not copied in:
    # the title as its name went to every jurisdiction asked, the cluster's when widened.
    place = _place(data.get("location"))
    description = _text("description", data.get("description"), 2000)
    contacts = _contacts(data.get("contacts"))
    cluster = incident.cluster_id or _cluster_of(actor.jurisdiction)
    recipients = eligible_recipients(requester=actor.jurisdiction, cluster=cluster, level=incident.level,
                                     resource_type=rtype.code)
    if not recipients:
        raise Conflict("No jurisdiction to ask: the requester has no neighbours and no cluster.")
    with transaction.atomic():
        request = ResourceRequest.objects.create(
            incident=incident, requester_id=actor.jurisdiction, cluster_id=cluster, resource_type=rtype,
            quantity=quantity, needed_by=needed_by, location_name=place.name, location_lat=place.lat,
            location_lon=place.lon, description=description, contacts=contacts, status=RequestStatus.OPEN,
            reach=Reach.CLUSTER if Reach.CLUSTER in recipients.values() else Reach.NEIGHBOURS,
            exercise=incident.exercise, requested_by=actor.label, created_at=now, updated_at=now,
        )
        RequestRecipient.objects.bulk_create(
            [RequestRecipient(request=request, jurisdiction_id=code, reach=reach, added_at=now)
             for code, reach in sorted(recipients.items())])
        _message(request, "RequestResource", sender=actor.jurisdiction, quantity=quantity, at=now)
        _request_written("resource_request.created", request, actor, incident=incident,
                         timeline=aid_note("aid.requested", requester=actor.jurisdiction, quantity=quantity,
                                           unit=rtype.unit, resource_type=rtype.code,
                                           needed_by=needed_by.isoformat(),
                                           english={"resource_type": f"{rtype.name_zh} ({rtype.name_en})"}))
    return request


def resource_request_widen(*, actor: Principal, request_id) -> ResourceRequest:
    """Send a request beyond the neighbours, to the whole cluster."""
    require(actor, Action.WRITE_RESOURCES)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        _require_party(actor, request, frozenset({Party.REQUESTER}), "widen")
        if request.status not in TAKING_OFFERS or request.remaining == 0:
            raise Conflict(f"The request is {request.status}; it no longer takes offers.",
                           request_status=request.status)
        if request.reach == Reach.CLUSTER:
            raise Conflict("The request already goes to the whole cluster.")
        now = timezone.now()
        already = set(request.recipients.values_list("jurisdiction_id", flat=True))
        members = set(registry().members.get(request.cluster_id, ())) - already - {request.requester_id}
        RequestRecipient.objects.bulk_create(
            [RequestRecipient(request=request, jurisdiction_id=code, reach=Reach.CLUSTER, added_at=now)
             for code in sorted(members)])
        request.reach = Reach.CLUSTER
        _bump(request, now)
        _request_written("resource_request.widened", request, actor,
                         timeline=aid_note("aid.widened", request=request.pk, cluster=request.cluster_id))
    return request


def resource_request_cancel(*, actor: Principal, request_id, reason: str = "") -> ResourceRequest:
    """Cancel while nothing has been dispatched: offers lapse, commitments go back to stock."""
    require(actor, CANCEL_PERMISSION)
    reason = _text("reason", reason, 500)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        _require_party(actor, request, frozenset({Party.REQUESTER}), "cancel")
        offers = list(_locked_offers(request))
        if request.status not in CANCELLABLE or any(
                offer.status in STAGES and offer.status != OfferStatus.COMMITTED for offer in offers):
            raise Conflict(f"The request is {request.status}; a request is cancelled only while nothing of it has "
                           "been dispatched.", request_status=request.status)
        now = timezone.now()
        released = []
        inventories = _locked_inventories(o for o in offers if o.status == OfferStatus.COMMITTED)
        for offer in offers:
            if offer.status == OfferStatus.COMMITTED:
                inventory = inventories[offer.inventory_id]
                _move(inventory, MovementKind.UNCOMMITTED, offer.committed_quantity, actor=actor,
                      committed_change=-offer.committed_quantity, offer=offer, now=now, note="request cancelled")
                released.append({"offer": offer.pk, "jurisdiction": offer.jurisdiction_id,
                                 "quantity": offer.committed_quantity})
                offer.status = OfferStatus.CANCELLED
            elif offer.status == OfferStatus.OFFERED:
                offer.status = OfferStatus.LAPSED
            else:
                continue
            offer.updated_at = now
            offer.save(update_fields=["status", "updated_at"])
        request.status = RequestStatus.CANCELLED
        _bump(request, now)
        _request_written("resource_request.cancelled", request, actor, extra={"reason": reason, "released": released},
                         timeline=aid_note("aid.cancelled_with_reason", request=request.pk, by=actor.jurisdiction,
                                           reason=reason) if reason else
                         aid_note("aid.cancelled", request=request.pk, by=actor.jurisdiction))
    return request


# --- offers and commitments ----------------------------------------------------------------------------


def offer_create(*, actor: Principal, request_id, data: Mapping[str, Any]) -> Offer:
    """An offer of all or part of a request by the caller's jurisdiction, from one of its
    inventories (the one with the most available, unless it names one)."""
    require(actor, Action.WRITE_RESOURCES)
    if data.get("quantity") is None:
        raise ValidationFailed.on("quantity", "This field is required.")
    quantity = _count("quantity", data["quantity"], positive=True)
    note = _text("note", data.get("note"), 500)
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
    wanted = None if quantity is None else _count("quantity", quantity, positive=True)
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
    note = _text("note", note, 500)
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


# --- helpers: loading, status, the thread, events ------------------------------------------------------


def _locked_request(actor: Principal, request_id) -> ResourceRequest:
    """The request, locked for a write: 404 if it does not exist or the actor may not see it."""
    request = (ResourceRequest.objects.select_for_update(no_key=True, of=("self",))
               .select_related("resource_type", "incident").filter(pk=request_id).first()
               if str(request_id).isdigit() else None)
    if request is None:
        raise NotFound("No such resource request.")
    recipients = list(request.recipients.values_list("jurisdiction_id", flat=True))
    if not decide(Viewer.of(actor), request_facts(request, recipients=recipients)):
        raise NotFound("No such resource request.")
    request.recipient_codes = recipients
    return request


def _locked_inventories(offers: Iterable[Offer]) -> dict[int, Inventory]:
    """The offers' inventories, locked in one order (by id) whatever the offers' order, so two
    requests drawing on the same inventories never wait for each other in a circle."""
    ids = sorted({offer.inventory_id for offer in offers})
    locked = Inventory.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    return {inventory.pk: inventory for inventory in locked}


def _locked_offers(request: ResourceRequest):
    return request.offers.select_for_update(no_key=True, of=("self",)).select_related("reimbursement").order_by("id")


def _require_party(actor: Principal, request: ResourceRequest, parties: frozenset[Party], what: str) -> Party:
    if actor.jurisdiction == request.requester_id:
        party = Party.REQUESTER
    elif request.offers.filter(jurisdiction_id=actor.jurisdiction, status__in=STAGES).exists():
        party = Party.SUPPLIER
    else:
        raise PermissionDenied(f"Only the requesting jurisdiction or a supplier of this request may {what}.")
    if party not in parties:
        raise PermissionDenied(f"Only the {' or the '.join(sorted(p.label.lower() for p in parties))} may {what}.")
    return party


def _bump(request: ResourceRequest, now: datetime) -> None:
    request.version += 1
    request.updated_at = now
    request.save()


def _restatus(request: ResourceRequest, now: datetime) -> None:
    statuses = request.offers.values_list("status", flat=True)
    request.status = request_status(cancelled=request.status == RequestStatus.CANCELLED,
                                    filled=request.remaining == 0, commitment_statuses=list(statuses))
    _bump(request, now)


def _first_message(request: ResourceRequest) -> RequestMessage | None:
    return request.messages.filter(preceding__isnull=True).order_by("id").first()


def _last_message(offer: Offer) -> RequestMessage | None:
    return offer.messages.order_by("-id").first()


def _message(request: ResourceRequest, message_type: str, *, sender: str, at: datetime, offer: Offer | None = None,
             quantity: int | None = None, preceding: RequestMessage | None = None, deployment_status: str = "",
             note: str = "") -> RequestMessage:
    return RequestMessage.objects.create(request=request, offer=offer, message_type=message_type, sender_id=sender,
                                         preceding=preceding, at=at, quantity=quantity,
                                         deployment_status=deployment_status, note=note[:500])


def _request_subject(request: ResourceRequest, incident: Incident) -> Subject:
    return Subject(type="resource_request", id=str(request.pk), cluster=request.cluster_id, owner=request.requester_id,
                   jurisdictions=list(request.recipients.values_list("jurisdiction_id", flat=True)),
                   level=incident.level, category=incident.category, data_kind=DataKind.RESOURCES,
                   exercise=request.exercise, about=request_incident_facts(request),
                   about_fields=fields_from_incident(request))


def _request_written(name: str, request: ResourceRequest, actor: Principal, *, timeline: tuple[str, dict],
                     incident: Incident | None = None, extra: dict | None = None) -> None:
    incident = incident or request.incident
    subject = _request_subject(request, incident)
    payload = {**request_data(request, incident_public_id=incident.public_id, recipients=subject.jurisdictions),
               **(extra or {})}
    emit_event(name, subject=subject, payload=payload)
    audit_record(actor=actor, action=name, object_type="resource_request", object_id=str(request.pk),
                 object_jurisdiction=request.requester_id, detail={"status": request.status, **(extra or {})})
    _timeline(request, actor, timeline)


def _offer_written(name: str, request: ResourceRequest, offer: Offer, actor: Principal, previous: str | None, *,
                   timeline: tuple[str, dict] | None = None, detail: dict | None = None) -> None:
    """An offer's event: the offerer's data, concerning the requester."""
    incident = request.incident
    subject = Subject(type="offer", id=str(offer.pk), cluster=request.cluster_id, owner=offer.jurisdiction_id,
                      jurisdictions=[request.requester_id], level=incident.level, category=incident.category,
                      data_kind=DataKind.RESOURCES, exercise=request.exercise,
                      about=request_incident_facts(request), about_fields=frozenset({"incident"}))
    emit_event(name, subject=subject, payload={
        "request": request.pk, "incident": incident.public_id, "requester": request.requester_id,
        "resource_type": request.resource_type_id, "unit": request.resource_type.unit,
        "request_status": request.status, "remaining": request.remaining,
        "offer": offer_data(offer, cluster=request.cluster_id),
    })
    audit_record(actor=actor, action=name, object_type="offer", object_id=str(offer.pk),
                 object_jurisdiction=offer.jurisdiction_id,
                 detail={"request": request.pk, "from": previous, "to": offer.status, **(detail or {})})
    if timeline:
        _timeline(request, actor, timeline)


def _timeline(request: ResourceRequest, actor: Principal, note: tuple[str, dict]) -> None:
    """A timeline entry on the request's incident, part of this write (whose event says what
    happened). Offers and deployment moves are often recorded by a supplier, which is no party
    to the incident: the entry names who acted. `note` is aid_note's (English text, code and
    parameters): readers write the line in their own language (sharing.mutualaid.timeline)."""
    text, data = note
    incident_timeline_record(incident=request.incident, kind=TimelineKind.MUTUAL_AID, text=text, actor=actor,
                             data={"resource_request": request.pk, **data})


# --- the incident closed ---------------------------------------------------------------------------------


@dataclass
class ClosedWithIncident:
    """What closing an incident did to its mutual aid: requests withdrawn whole, and what is
    still out (lent: dispatched, arrived or released, not yet returned), one row each."""

    withdrawn: list[dict] = field(default_factory=list)
    still_out: list[dict] = field(default_factory=list)


def requests_closed_with_incident(*, incident: str, by: str, now: datetime | None = None) -> ClosedWithIncident:
    """The incident (public id) was closed or cancelled: its requests that are not over are
    wound up along the lifecycle, on the requester's behalf (`by` names who acts: the playbook
    engine reacting to the incident's event; the closing officer already decided).

    A request nothing of which has left is cancelled as its requester would cancel it (offers
    lapse, commitments go back to stock; `resource_request.cancelled`). A request with
    resources lent keeps them lent until they are returned (the lifecycle's return steps
    still apply): only its offers not yet accepted lapse and its commitments not yet
    dispatched go back to stock; it takes no more offers (its incident is closed)."""
    now = now or timezone.now()
    closed = ClosedWithIncident()
    ids = list(ResourceRequest.objects.filter(incident__public_id=incident).exclude(status__in=CLOSED)
               .order_by("id").values_list("id", flat=True))
    for request_id in ids:
        request = (ResourceRequest.objects.select_for_update(no_key=True, of=("self",))
                   .select_related("resource_type", "incident").get(pk=request_id))
        if request.status in CLOSED:
            continue
        actor = Principal(kind="client", label=by, jurisdiction=request.requester_id,
                          clusters=(request.cluster_id,))
        offers = list(_locked_offers(request))
        inventories = _locked_inventories(offer for offer in offers if offer.status == OfferStatus.COMMITTED)
        released, lent = [], []
        for offer in offers:
            if offer.status == OfferStatus.COMMITTED:
                _move(inventories[offer.inventory_id], MovementKind.UNCOMMITTED, offer.committed_quantity,
                      actor=actor, committed_change=-offer.committed_quantity, offer=offer, now=now,
                      note="incident closed")
                released.append({"offer": offer.pk, "jurisdiction": offer.jurisdiction_id,
                                 "quantity": offer.committed_quantity})
                offer.status = OfferStatus.CANCELLED
            elif offer.status == OfferStatus.OFFERED:
                offer.status = OfferStatus.LAPSED
            else:
                if offer.status in STAGES and offer.status != OfferStatus.RETURNED:
                    lent.append(offer)
                continue
            offer.updated_at = now
            offer.save(update_fields=["status", "updated_at"])
        if not lent:
            request.status = RequestStatus.CANCELLED
            _bump(request, now)
            _request_written("resource_request.cancelled", request, actor,
                             extra={"reason": f"incident {request.incident.status}", "released": released},
                             timeline=aid_note("aid.cancelled", request=request.pk, by=request.requester_id))
            closed.withdrawn.append({"request": request.pk, "quantity": request.quantity,
                                     "resource_type": request.resource_type_id, "requester": request.requester_id})
            continue
        _restatus(request, now)
        audit_record(actor=actor, action="resource_request.wound_up", object_type="resource_request",
                     object_id=str(request.pk), object_jurisdiction=request.requester_id,
                     detail={"status": request.status, "released": released,
                             "lent": [offer.pk for offer in lent]})
        closed.still_out += [{"request": request.pk, "quantity": offer.committed_quantity,
                              "resource_type": request.resource_type_id, "supplier": offer.jurisdiction_id,
                              "stage": offer.status} for offer in lent]
    return closed


def _require_incident_open(request: ResourceRequest) -> None:
    """A closed incident's requests take no more offers (what is lent still comes home)."""
    if not incident_lifecycle.is_open(request.incident.status):
        raise Conflict(f"{request.incident.public_id} is {request.incident.status}: its requests take no more "
                       "offers.", incident_status=request.incident.status)
