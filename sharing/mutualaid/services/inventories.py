"""Writes of inventories: a jurisdiction's stock records (the API, the CSV import), their
corrections, and the ledger every change of stock writes, a commitment's included (the request
services move stock through `_move`).

Every write runs in one transaction, is audited, and emits one event per inventory it changes.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal, require
from coordination.roles import Action
from sharing.eventlog import Subject, emit_event
from sharing.models import DataKind
from sharing.mutualaid.contract import (
    EXTERNAL_ID_MAX_LENGTH,
    AidPlace,
    contacts_checked,
    place_checked,
    quantity_checked,
    resource_type_checked,
    text_checked,
    unit_checked,
)
from sharing.mutualaid.models import Inventory, InventoryMovement, MovementKind, Offer
from sharing.mutualaid.payloads import inventory_data
from sharing.mutualaid.selectors import inventory_facts
from sharing.mutualaid.services.checks import _cluster_of
from sharing.visibility import Viewer, decide

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
    if actor is not None:  # None, an operator's command, has no role or jurisdiction to check
        require(actor, Action.WRITE_RESOURCES)
        if actor.jurisdiction != jurisdiction:
            raise PermissionDenied("Stock is recorded by its own jurisdiction.")
    for name in ("resource_type", "on_hand"):
        if data.get(name) is None:
            raise ValidationFailed.on(name, "This field is required.")
    rtype = resource_type_checked(data["resource_type"])
    unit_checked(rtype, data.get("unit"))
    on_hand = quantity_checked("on_hand", data["on_hand"], positive=False)
    external_id = text_checked("external_id", data.get("external_id"), EXTERNAL_ID_MAX_LENGTH) or None
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
                        location_name=changes.get("place", AidPlace()).name,
                        location_lat=changes.get("place", AidPlace()).lat,
                        location_lon=changes.get("place", AidPlace()).lon,
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
    require(actor, Action.WRITE_RESOURCES)
    unknown = sorted(set(data) - {"on_hand", "location", "contacts", "unit"})
    if unknown:
        raise ValidationFailed.on(unknown[0], "This field cannot be changed.")
    changes = _inventory_changes(data)
    if "on_hand" in data:
        changes["on_hand"] = quantity_checked("on_hand", data["on_hand"], positive=False)
    now = timezone.now()
    with transaction.atomic():
        inventory = (Inventory.objects.select_for_update(no_key=True).select_related("resource_type")
                     .filter(pk=inventory_id).first())
        if inventory is None or not _sees_inventory(actor, inventory):
            raise NotFound("No such inventory.")
        if inventory.jurisdiction_id != actor.jurisdiction:
            raise PermissionDenied("Stock is changed by its own jurisdiction.")
        unit_checked(inventory.resource_type, data.get("unit"))
        return _inventory_apply(inventory, changes, actor=actor, now=now)


def _inventory_changes(data: Mapping[str, Any]) -> dict:
    changes: dict[str, Any] = {}
    if "location" in data:
        changes["place"] = place_checked(data["location"])
    if "contacts" in data:
        changes["contacts"] = contacts_checked(data["contacts"])
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
