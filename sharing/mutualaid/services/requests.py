"""Writes of mutual-aid requests along the lifecycle (sharing.mutualaid.lifecycle): a request
made, widened, cancelled, wound up when its incident closes. Also what the offers
(sharing.mutualaid.services.offers) and the reimbursements share with them: loading a request
and its offers locked, the request's status, its EDXL-RM thread, and a request's or an offer's
event and timeline entry.

Every write runs in one transaction, is audited, and emits one event per row it moves
(a request, or an offer/commitment). Quantities are checked before anything is written; the
stock a commitment takes is checked again under a row lock, so concurrent acceptances never
commit more than an inventory holds (and the database refuses it anyway).
Lock order, everywhere: request, then its offers, then inventories.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
from sharing.mutualaid.contract import (
    DESCRIPTION_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    REQUEST_REQUIRED,
    contacts_checked,
    needed_by_checked,
    place_checked,
    quantity_checked,
    required_checked,
    resource_type_checked,
    text_checked,
    unit_checked,
)
from sharing.mutualaid.lifecycle import (
    CANCEL_PERMISSION,
    CANCELLABLE,
    CLOSED,
    STAGES,
    TAKING_OFFERS,
    OfferStatus,
    Party,
    RequestStatus,
    request_status,
)
from sharing.mutualaid.models import (
    Inventory,
    MovementKind,
    Offer,
    Reach,
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
    required_checked(data, REQUEST_REQUIRED)
    rtype = resource_type_checked(data["resource_type"])
    unit_checked(rtype, data.get("unit"))
    quantity = quantity_checked("quantity", data["quantity"], positive=True)
    now = timezone.now()
    needed_by = needed_by_checked(data["needed_by"], now=now)
    incident, affected = _incident(actor, data["incident"])
    if actor.jurisdiction not in {incident.reporting_jurisdiction_id, *affected}:
        raise PermissionDenied(f"Only a jurisdiction affected by {incident.public_id} asks for mutual aid for it.")
    if not incident_lifecycle.is_open(incident.status):
        raise Conflict(f"{incident.public_id} is {incident.status}; mutual aid is asked for open incidents.")
    # No place named: the resources go to the incident, whose location the request's data
    # shows (payloads.request_location) to whoever may see the incident. It is not copied in:
    # the title as its name went to every jurisdiction asked, the cluster's when widened.
    place = place_checked(data.get("location"))
    description = text_checked("description", data.get("description"), DESCRIPTION_MAX_LENGTH)
    contacts = contacts_checked(data.get("contacts"))
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
    reason = text_checked("reason", reason, REASON_MAX_LENGTH)
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
                                         deployment_status=deployment_status, note=note[:NOTE_MAX_LENGTH])


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
