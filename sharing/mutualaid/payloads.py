"""Inventories, requests and offers as plain data: what the API answers and what events carry
(the same dicts, so a subscriber and a poller read one shape). Times are in the cluster's zone.

The sensitive field (`contacts`) is a top-level key, so `sharing.visibility.redact` removes it
for whoever may not have it; so are a request's keys taken from its incident (`incident`, and
`location` when it is the incident's), removed for whoever may not see the incident.
"""

from collections.abc import Iterable
from datetime import datetime

from coordination.authentication import clusters_of
from incidents.payloads import cluster_zone
from sharing.mutualaid.models import Inventory, Offer, Reimbursement, ResourceRequest, ResourceType


def _time(value: datetime | None, cluster: str | None) -> str | None:
    return value.astimezone(cluster_zone(cluster)).isoformat() if value is not None else None


def location_data(obj) -> dict:
    return {"name": obj.location_name, "lat": obj.location_lat, "lon": obj.location_lon}


def names_a_place(request: ResourceRequest) -> bool:
    return bool(request.location_name) or request.location_lat is not None


def request_location(request: ResourceRequest) -> dict:
    """Where the resources go: the place the requester named, or else the incident's location
    (without a name: the incident's title is no place, and the incident's to show)."""
    if names_a_place(request):
        return location_data(request)
    incident = request.incident
    return {"name": "", "lat": incident.location_lat, "lon": incident.location_lon}


def fields_from_incident(request: ResourceRequest) -> frozenset[str]:
    """The keys of `request_data` taken from the request's incident: the visibility rule
    withholds them from whoever may see the request but not the incident (Facts.about)."""
    return frozenset({"incident"} if names_a_place(request) else {"incident", "location"})


def resource_type_data(rtype: ResourceType) -> dict:
    return {"code": rtype.code, "kind": rtype.kind, "name_zh": rtype.name_zh, "name_en": rtype.name_en,
            "unit": rtype.unit, "consumable": rtype.consumable}


def inventory_data(inventory: Inventory) -> dict:
    clusters = clusters_of(inventory.jurisdiction_id)
    cluster = clusters[0] if clusters else None
    return {
        "id": inventory.pk,
        "jurisdiction": inventory.jurisdiction_id,
        "resource_type": inventory.resource_type_id,
        "unit": inventory.resource_type.unit,
        "on_hand": inventory.on_hand,
        "committed": inventory.committed,
        "available": inventory.available,
        "location": location_data(inventory),
        "contacts": inventory.contacts,
        "external_id": inventory.external_id,
        "version": inventory.version,
        "updated_at": _time(inventory.updated_at, cluster),
    }


def reimbursement_data(reimbursement: Reimbursement | None, *, cluster: str | None) -> dict | None:
    if reimbursement is None:
        return None

    def amount(value):
        return None if value is None else str(value)

    return {
        "status": reimbursement.status,
        "currency": reimbursement.currency,
        "claimed_amount": amount(reimbursement.claimed_amount),
        "approved_amount": amount(reimbursement.approved_amount),
        "paid_amount": amount(reimbursement.paid_amount),
        "claimed_at": _time(reimbursement.claimed_at, cluster),
        "approved_at": _time(reimbursement.approved_at, cluster),
        "paid_at": _time(reimbursement.paid_at, cluster),
        "note": reimbursement.note,
    }


def offer_data(offer: Offer, *, cluster: str | None) -> dict:
    reimbursement = getattr(offer, "reimbursement", None)  # none until the offer is accepted
    return {
        "id": offer.pk,
        "request": offer.request_id,
        "jurisdiction": offer.jurisdiction_id,
        "inventory": offer.inventory_id,
        "quantity": offer.quantity,
        "committed_quantity": offer.committed_quantity,
        "status": offer.status,
        "note": offer.note,
        "offered_by": offer.offered_by,
        "created_at": _time(offer.created_at, cluster),
        "updated_at": _time(offer.updated_at, cluster),
        "reimbursement": reimbursement_data(reimbursement, cluster=cluster),
    }


def request_data(request: ResourceRequest, *, incident_public_id: str, recipients: Iterable[str]) -> dict:
    """The request itself; its offers are the offerers' data and travel separately."""
    cluster = request.cluster_id
    return {
        "id": request.pk,
        "incident": incident_public_id,
        "requester": request.requester_id,
        "cluster": cluster,
        "resource_type": request.resource_type_id,
        "unit": request.resource_type.unit,
        "quantity": request.quantity,
        "accepted_quantity": request.accepted_quantity,
        "remaining": request.remaining,
        "needed_by": _time(request.needed_by, cluster),
        "location": request_location(request),
        "description": request.description,
        "contacts": request.contacts,
        "status": request.status,
        "reach": request.reach,
        "recipients": sorted(recipients),
        "exercise": request.exercise,
        "requested_by": request.requested_by,
        "version": request.version,
        "created_at": _time(request.created_at, cluster),
        "updated_at": _time(request.updated_at, cluster),
    }
