"""Writes of mutual aid: inventories (API, CSV import), requests, offers, commitments along the
lifecycle (sharing.mutualaid.lifecycle), cancellation and reimbursement.

Every write runs in one transaction, is audited, and emits one event per row it moves
(an inventory, a request, or an offer/commitment). Quantities are checked before anything is
written; the stock a commitment takes is checked again under a row lock, so concurrent
acceptances never commit more than an inventory holds (and the database refuses it anyway).
Lock order, everywhere: request, then its offers, then inventories.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.authentication import clusters_of
from coordination.models import Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from coordination.services import audit_record
from incidents import lifecycle as incident_lifecycle
from incidents.models import Incident, TimelineKind
from incidents.selectors import incident_facts
from incidents.services import incident_timeline_record
from sharing.eventlog import Subject, emit_event
from sharing.models import DataKind
from sharing.mutualaid import catalogue
from sharing.mutualaid.lifecycle import (
    ACCEPT,
    CANCEL_PERMISSION,
    CANCELLABLE,
    MESSAGE_SENDERS,
    REIMBURSEMENT_STEPS,
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
    InventoryMovement,
    MovementKind,
    Offer,
    Reach,
    Reimbursement,
    RequestMessage,
    RequestRecipient,
    ResourceRequest,
    ResourceType,
)
from sharing.mutualaid.payloads import fields_from_incident, inventory_data, offer_data, request_data
from sharing.mutualaid.selectors import inventory_facts, request_facts, request_incident_facts
from sharing.visibility import Viewer, decide, sharing_context

MAX_QUANTITY = 10_000_000
MAX_AMOUNT = Decimal("1000000000000")
# City systems' clocks drift: a "needed by" this far in the past is still taken as "now".
NEEDED_BY_SKEW = timedelta(minutes=10)
MAX_CONTACTS = 20
CURRENCY = re.compile(r"^[A-Z]{3}$")

# The cluster's default shares levels I and II with every member, so a request for such an
# incident goes to the whole cluster at once; otherwise to the neighbours first.
WHOLE_CLUSTER_LEVELS = frozenset({"I", "II"})


# --- checks shared by the writes ----------------------------------------------------------------


def _require(actor: Principal | None, action: Action) -> None:
    if actor is not None and not actor.can(action):
        raise PermissionDenied("Your role or scopes do not allow this.")


def _count(name: str, value, *, positive: bool) -> int:
    """A quantity: a whole number, at least 1 (or 0 where `positive` is False)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ValidationFailed.on(name, "A whole number is expected.")
    if value < (1 if positive else 0):
        raise ValidationFailed.on(name, "Must be at least 1." if positive else "Must not be negative.")
    if value > MAX_QUANTITY:
        raise ValidationFailed.on(name, f"At most {MAX_QUANTITY}.")
    return value


def _resource_type(code) -> ResourceType:
    rtype = ResourceType.objects.filter(code=str(code)).first() if code else None
    if rtype is None:
        raise ValidationFailed.on("resource_type", f"Unknown resource type {code!r}; see /api/v1/resource-types/.")
    return rtype


def _check_unit(rtype: ResourceType, unit) -> None:
    """A unit, when the caller names one, must be the type's (quantities are never converted)."""
    if unit in (None, ""):
        return
    known = catalogue.units()
    if unit not in known:
        raise ValidationFailed.on("unit", f"Unknown unit {unit!r}; one of {', '.join(sorted(known))}.")
    if unit != rtype.unit:
        raise ValidationFailed.on("unit", f"{rtype.code} is counted in {rtype.unit!r}, not {unit!r}.")


# One line of text that PostgreSQL stores: no control characters (a NUL in a name was a 500
# there) and no lone surrogates (no UTF-8 for them).
PLACE_NAME = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")


@dataclass(frozen=True)
class Place:
    name: str = ""
    lat: float | None = None
    lon: float | None = None


def _place(value, name: str = "location") -> Place:
    """A place: a name, a point ({"lat", "lon"}), or both ({"name", "lat", "lon"})."""
    if value is None:
        return Place()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise ValidationFailed.on(name, 'Expected a name or {"name", "lat", "lon"}.')
    unknown = sorted(set(value) - {"name", "lat", "lon"})
    if unknown:
        raise ValidationFailed.on(f"{name}.{unknown[0]}", "Unknown key.")
    place_name = value.get("name") or ""
    if not isinstance(place_name, str) or len(place_name) > 200 or not PLACE_NAME.fullmatch(place_name):
        raise ValidationFailed.on(f"{name}.name", "A name of at most 200 characters, without control characters.")
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        raise ValidationFailed.on(name, "Give both lat and lon, or neither.")
    for key, coordinate, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if coordinate is None:
            continue
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
            raise ValidationFailed.on(f"{name}.{key}", "A number is expected.")
        if not -bound <= coordinate <= bound:
            raise ValidationFailed.on(f"{name}.{key}", f"Out of range (±{bound}).")
    return Place(place_name.strip(), None if lat is None else float(lat), None if lon is None else float(lon))


def _contacts(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CONTACTS:
        raise ValidationFailed.on("contacts", f"A list of at most {MAX_CONTACTS} contacts.")
    contacts = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ValidationFailed.on(f"contacts.{index}", 'Each contact needs a "name".')
        unknown = sorted(set(item) - {"name", "role", "phone"})
        if unknown:
            raise ValidationFailed.on(f"contacts.{index}.{unknown[0]}", "Unknown key; name, role and phone.")
        for key, limit in (("name", 100), ("role", 100), ("phone", 40)):
            text = item.get(key, "")
            if not isinstance(text, str) or len(text) > limit:
                raise ValidationFailed.on(f"contacts.{index}.{key}", f"Text of at most {limit} characters.")
        contacts.append({"name": item["name"].strip(), "role": item.get("role", ""), "phone": item.get("phone", "")})
    return contacts


def _text(name: str, value, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed.on(name, f"Text of at most {limit} characters.")
    return value.strip()


def _cluster_of(code: str) -> str:
    clusters = clusters_of(code)
    return clusters[0] if clusters else ""


# --- the ledger ------------------------------------------------------------------------------------


def _move(inventory: Inventory, kind: MovementKind, quantity: int, *, actor: Principal | None,
          on_hand_change: int = 0, committed_change: int = 0, offer: Offer | None = None, note: str = "",
          now: datetime) -> None:
    """Apply a change to a (locked) inventory and write its ledger row.

    The change is relative (on_hand = on_hand + n), so even a write that forgot its lock could
    not lose another's update, and the database's checks refuse anything below zero or more
    committed than on hand.
    """
    if on_hand_change or committed_change:
        try:
            with transaction.atomic():
                Inventory.objects.filter(pk=inventory.pk).update(
                    on_hand=F("on_hand") + on_hand_change, committed=F("committed") + committed_change,
                    version=F("version") + 1, updated_at=now)
        except IntegrityError:
            raise Conflict(f"Inventory {inventory.pk} does not have that much available any more.") from None
        inventory.refresh_from_db(fields=["on_hand", "committed", "version", "updated_at"])
    _ledger(inventory, kind, quantity, actor=actor, on_hand_change=on_hand_change, committed_change=committed_change,
            offer=offer, note=note, now=now)


def _ledger(inventory: Inventory, kind: MovementKind, quantity: int, *, actor: Principal | None,
            on_hand_change: int = 0, committed_change: int = 0, offer: Offer | None = None, note: str = "",
            now: datetime) -> None:
    """The ledger row of a movement, with the stock it left behind."""
    InventoryMovement.objects.create(
        inventory=inventory, at=now, kind=kind, quantity=quantity, on_hand_change=on_hand_change,
        committed_change=committed_change, on_hand_after=inventory.on_hand, committed_after=inventory.committed,
        offer=offer, actor=actor.label if actor else "system", actor_jurisdiction=actor.jurisdiction if actor else "",
        note=note[:200],
    )


# --- inventories -------------------------------------------------------------------------------------


@dataclass
class InventoryOutcome:
    inventory: Inventory
    created: bool = False
    changed: list[str] = field(default_factory=list)


def _inventory_subject(inventory: Inventory) -> Subject:
    return Subject(type="inventory", id=str(inventory.pk), cluster=_cluster_of(inventory.jurisdiction_id),
                   owner=inventory.jurisdiction_id, data_kind=DataKind.RESOURCES)


def _inventory_written(name: str, inventory: Inventory, actor: Principal | None, detail: dict) -> None:
    subject = _inventory_subject(inventory)
    emit_event(name, subject=subject, payload=inventory_data(inventory))
    audit_record(actor=actor, action=name, object_type="inventory", object_id=str(inventory.pk),
                 object_jurisdiction=inventory.jurisdiction_id, detail=detail)


def inventory_upsert(*, actor: Principal | None, jurisdiction: str, data: Mapping[str, Any],
                     note: str = "") -> InventoryOutcome:
    """Record a jurisdiction's stock of one type (POST /inventories/, the CSV import).

    With an `external_id` this jurisdiction already used, the existing inventory is updated
    with what differs (idempotent: the same data again writes nothing). `actor` None is a
    command run by an operator of the deployment.
    """
    _require(actor, Action.WRITE_RESOURCES)
    if actor is not None and actor.jurisdiction != jurisdiction:
        raise PermissionDenied("Stock is recorded by its own jurisdiction.")
    for name in ("resource_type", "on_hand"):
        if data.get(name) is None:
            raise ValidationFailed.on(name, "This field is required.")
    rtype = _resource_type(data["resource_type"])
    _check_unit(rtype, data.get("unit"))
    on_hand = _count("on_hand", data["on_hand"], positive=False)
    external_id = _text("external_id", data.get("external_id"), 100) or None
    changes = _inventory_changes(data)
    now = timezone.now()
    with transaction.atomic():
        existing = None
        if external_id:
            existing = (Inventory.objects.select_for_update(no_key=True).select_related("resource_type")
                        .filter(jurisdiction_id=jurisdiction, external_id=external_id).first())
        if existing is None:
            try:
                with transaction.atomic():
                    inventory = Inventory.objects.create(
                        jurisdiction_id=jurisdiction, resource_type=rtype, on_hand=on_hand, external_id=external_id,
                        location_name=changes.get("place", Place()).name,
                        location_lat=changes.get("place", Place()).lat,
                        location_lon=changes.get("place", Place()).lon,
                        contacts=changes.get("contacts", []), created_at=now, updated_at=now,
                    )
            except IntegrityError:
                # The same external id, sent twice at once: the other request created it.
                existing = (Inventory.objects.select_for_update(no_key=True).select_related("resource_type")
                            .filter(jurisdiction_id=jurisdiction, external_id=external_id).first())
                if existing is None:
                    raise
            else:
                if on_hand:
                    _ledger(inventory, MovementKind.STOCKED, on_hand, actor=actor, on_hand_change=on_hand, now=now,
                            note=note)
                _inventory_written("inventory.created", inventory, actor, {"external_id": external_id})
                return InventoryOutcome(inventory, created=True)
        if existing.resource_type_id != rtype.code:
            raise Conflict(f"external_id {external_id!r} names this jurisdiction's {existing.resource_type_id} "
                           "stock; an inventory does not change type.")
        return _inventory_apply(existing, {**changes, "on_hand": on_hand}, actor=actor, now=now, note=note)


def inventory_update(*, actor: Principal, inventory_id: int, data: Mapping[str, Any]) -> InventoryOutcome:
    """Change an inventory (PATCH /inventories/{id}/): on hand, location, contacts."""
    _require(actor, Action.WRITE_RESOURCES)
    unknown = sorted(set(data) - {"on_hand", "location", "contacts", "unit"})
    if unknown:
        raise ValidationFailed.on(unknown[0], "This field cannot be changed.")
    changes = _inventory_changes(data)
    if "on_hand" in data:
        changes["on_hand"] = _count("on_hand", data["on_hand"], positive=False)
    now = timezone.now()
    with transaction.atomic():
        inventory = (Inventory.objects.select_for_update(no_key=True).select_related("resource_type")
                     .filter(pk=inventory_id).first())
        if inventory is None or not _sees_inventory(actor, inventory):
            raise NotFound("No such inventory.")
        if inventory.jurisdiction_id != actor.jurisdiction:
            raise PermissionDenied("Stock is changed by its own jurisdiction.")
        _check_unit(inventory.resource_type, data.get("unit"))
        return _inventory_apply(inventory, changes, actor=actor, now=now)


def _inventory_changes(data: Mapping[str, Any]) -> dict:
    changes: dict[str, Any] = {}
    if "location" in data:
        changes["place"] = _place(data["location"])
    if "contacts" in data:
        changes["contacts"] = _contacts(data["contacts"])
    return changes


def _inventory_apply(inventory: Inventory, changes: dict, *, actor: Principal | None, now: datetime,
                     note: str = "") -> InventoryOutcome:
    changed = []
    if "place" in changes:
        place = changes["place"]
        if (inventory.location_name, inventory.location_lat, inventory.location_lon) != (place.name, place.lat,
                                                                                         place.lon):
            inventory.location_name, inventory.location_lat, inventory.location_lon = place.name, place.lat, place.lon
            changed.append("location")
    if "contacts" in changes and changes["contacts"] != inventory.contacts:
        inventory.contacts = changes["contacts"]
        changed.append("contacts")
    on_hand = changes.get("on_hand", inventory.on_hand)
    if on_hand < inventory.committed:
        raise Conflict(f"{inventory.committed} of this stock are committed to mutual aid; on hand cannot go "
                       f"below that (asked {on_hand}).", committed=inventory.committed)
    if not changed and on_hand == inventory.on_hand:
        return InventoryOutcome(inventory)
    if changed:
        inventory.save(update_fields=["location_name", "location_lat", "location_lon", "contacts"])
    if on_hand != inventory.on_hand:
        changed.append("on_hand")
        _move(inventory, MovementKind.ADJUSTED, abs(on_hand - inventory.on_hand), actor=actor,
              on_hand_change=on_hand - inventory.on_hand, now=now, note=note)
    else:
        Inventory.objects.filter(pk=inventory.pk).update(version=F("version") + 1, updated_at=now)
        inventory.refresh_from_db(fields=["version", "updated_at"])
    _inventory_written("inventory.updated", inventory, actor, {"changed": changed})
    return InventoryOutcome(inventory, changed=changed)


def _sees_inventory(actor: Principal, inventory: Inventory) -> bool:
    return bool(decide(Viewer.of(actor), inventory_facts(inventory)))


@dataclass
class RowResult:
    line: int
    outcome: str  # created, updated, unchanged, refused
    detail: str
    inventory: int | None = None


def inventories_import(*, jurisdiction: str, rows: Iterable[tuple[int, Mapping[str, Any]]],
                       on_row: Callable[[RowResult], None] | None = None) -> list[RowResult]:
    """Stock from a file, a row at a time (each its own transaction: a bad row is reported and
    the others land). Rows are (line number, fields)."""
    if not Jurisdiction.objects.filter(code=jurisdiction).exists():
        raise ValidationFailed.on("jurisdiction", f"Unknown jurisdiction {jurisdiction!r}.")
    results = []
    for line, data in rows:
        try:
            outcome = inventory_upsert(actor=None, jurisdiction=jurisdiction, data=data, note=f"import, line {line}")
        except (ValidationFailed, Conflict) as exc:
            result = RowResult(line, "refused", exc.detail)
        else:
            inventory = outcome.inventory
            state = f"{inventory.resource_type_id} on hand {inventory.on_hand}, available {inventory.available}"
            if outcome.created:
                result = RowResult(line, "created", state, inventory.pk)
            elif outcome.changed:
                result = RowResult(line, "updated", f"{state} ({', '.join(outcome.changed)} changed)", inventory.pk)
            else:
                result = RowResult(line, "unchanged", state, inventory.pk)
        results.append(result)
        if on_row:
            on_row(result)
    return results


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
    ctx = sharing_context()
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
    _require(actor, Action.WRITE_RESOURCES)
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
                         timeline=f"{actor.jurisdiction} asks for mutual aid: {quantity} {rtype.unit} of "
                                  f"{rtype.name_zh} ({rtype.name_en}), needed by {needed_by.isoformat()}.")
    return request


def resource_request_widen(*, actor: Principal, request_id) -> ResourceRequest:
    """Send a request beyond the neighbours, to the whole cluster."""
    _require(actor, Action.WRITE_RESOURCES)
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
        members = set(sharing_context().members.get(request.cluster_id, ())) - already - {request.requester_id}
        RequestRecipient.objects.bulk_create(
            [RequestRecipient(request=request, jurisdiction_id=code, reach=Reach.CLUSTER, added_at=now)
             for code in sorted(members)])
        request.reach = Reach.CLUSTER
        _bump(request, now)
        _request_written("resource_request.widened", request, actor,
                         timeline=f"Mutual-aid request #{request.pk} sent to the whole {request.cluster_id}.")
    return request


def resource_request_cancel(*, actor: Principal, request_id, reason: str = "") -> ResourceRequest:
    """Cancel while nothing has been dispatched: offers lapse, commitments go back to stock."""
    _require(actor, CANCEL_PERMISSION)
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
                         timeline=f"Mutual-aid request #{request.pk} cancelled by {actor.jurisdiction}."
                                  + (f" {reason}" if reason else ""))
    return request


# --- offers and commitments ----------------------------------------------------------------------------


def offer_create(*, actor: Principal, request_id, data: Mapping[str, Any]) -> Offer:
    """An offer of all or part of a request by the caller's jurisdiction, from one of its
    inventories (the one with the most available, unless it names one)."""
    _require(actor, Action.WRITE_RESOURCES)
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
                       timeline=f"{actor.jurisdiction} offers {quantity} {request.resource_type.unit} for "
                                f"mutual-aid request #{request.pk}.")
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
    _require(actor, ACCEPT.permission)
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
                       timeline=f"{actor.jurisdiction} accepts {wanted} {request.resource_type.unit} from "
                                f"{offer.jurisdiction_id}: committed.")
    return offer


def commitment_move(*, actor: Principal, request_id, action: str, offer_id=None, note: str = "") -> ResourceRequest:
    """Move commitments one step along the lifecycle (dispatch, arrive, release, return): the
    request's commitments the caller is party to that are where the step starts, or only the
    one named by `offer_id`. Nothing there to move is a 409."""
    step = STEPS.get(action)
    if step is None:
        raise NotFound(f"No action {action!r}.")
    _require(actor, step.permission)
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
        _timeline(request, actor, f"Mutual aid #{request.pk}: {quantity} {request.resource_type.unit} "
                                  f"{step.target} ({', '.join(sorted({o.jurisdiction_id for o in movable}))}).")
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


# --- reimbursement -----------------------------------------------------------------------------------


def reimbursement_record(*, actor: Principal, request_id, offer_id, action: str, amount, currency: str | None = None,
                         note: str = "") -> Offer:
    """A step of a commitment's costs: the supplier claims, the requester approves and pays."""
    step = REIMBURSEMENT_STEPS.get(action)
    if step is None:
        raise ValidationFailed.on("action", f"Unknown action {action!r}; one of {', '.join(REIMBURSEMENT_STEPS)}.")
    _require(actor, step.permission)
    amount = _amount(amount)
    note = _text("note", note, 500)
    if currency is not None and not CURRENCY.match(str(currency)):
        raise ValidationFailed.on("currency", "An ISO 4217 code such as CNY, HKD or MOP.")
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


def _amount(value) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValidationFailed.on("amount", "An amount is required.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed.on("amount", "A decimal amount is expected.") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed.on("amount", "A non-negative amount with at most two decimals.")
    return amount


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


def _request_written(name: str, request: ResourceRequest, actor: Principal, *, timeline: str,
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
                   timeline: str = "", detail: dict | None = None) -> None:
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


def _timeline(request: ResourceRequest, actor: Principal, text: str) -> None:
    """A timeline entry on the request's incident, part of this write (whose event says what
    happened). Offers and deployment moves are often recorded by a supplier, which is no party
    to the incident: the entry names who acted."""
    incident_timeline_record(incident=request.incident, kind=TimelineKind.MUTUAL_AID, text=text, actor=actor,
                             data={"resource_request": request.pk})
