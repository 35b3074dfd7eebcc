"""Inventory and mutual-aid events (sharing.mutualaid.services emits them; its payloads module
builds them). `contacts` is the sensitive key withheld from subscribers who may not have it.

Request-level events (created, widened, cancelled) belong to the requester and go to the
jurisdictions the request was sent to; offer-level events (an offer and every move of the
commitment it becomes) belong to the offerer and concern the requester.
"""

from typing import Literal

from sharing.event_schemas import Payload


class Contact(Payload):
    name: str
    role: str = ""
    phone: str = ""


class Location(Payload):
    name: str
    lat: float | None
    lon: float | None


class _Inventory(Payload):
    id: int
    jurisdiction: str
    resource_type: str
    unit: str
    on_hand: int
    committed: int
    available: int
    location: Location
    contacts: list[Contact]
    external_id: str | None
    version: int
    updated_at: str | None


class InventoryCreated(_Inventory):
    pass


class InventoryUpdated(_Inventory):
    pass


RequestStatus = Literal["open", "committed", "dispatched", "arrived", "released", "returned", "cancelled"]


class _Request(Payload):
    id: int
    incident: str
    requester: str
    cluster: str
    resource_type: str
    unit: str
    quantity: int
    accepted_quantity: int
    remaining: int
    needed_by: str
    location: Location
    description: str
    contacts: list[Contact]
    status: RequestStatus
    reach: Literal["neighbours", "cluster"]
    recipients: list[str]
    exercise: bool
    requested_by: str
    version: int
    created_at: str
    updated_at: str


class ResourceRequestCreated(_Request):
    pass


class ResourceRequestWidened(_Request):
    pass


class ReleasedCommitment(Payload):
    offer: int
    jurisdiction: str
    quantity: int


class ResourceRequestCancelled(_Request):
    reason: str
    released: list[ReleasedCommitment]


class Reimbursement(Payload):
    status: Literal["none", "claimed", "approved", "paid"]
    currency: str
    claimed_amount: str | None
    approved_amount: str | None
    paid_amount: str | None
    claimed_at: str | None
    approved_at: str | None
    paid_at: str | None
    note: str


class Offer(Payload):
    id: int
    request: int
    jurisdiction: str
    inventory: int
    quantity: int
    committed_quantity: int
    status: Literal["offered", "committed", "dispatched", "arrived", "released", "returned", "lapsed", "cancelled"]
    note: str
    offered_by: str
    created_at: str
    updated_at: str
    reimbursement: Reimbursement | None


class _OfferEvent(Payload):
    request: int
    incident: str
    requester: str
    resource_type: str
    unit: str
    request_status: RequestStatus
    remaining: int
    offer: Offer


class ResourceRequestOffered(_OfferEvent):
    pass


class ResourceRequestCommitted(_OfferEvent):
    pass


class ResourceRequestDispatched(_OfferEvent):
    pass


class ResourceRequestArrived(_OfferEvent):
    pass


class ResourceRequestReleased(_OfferEvent):
    pass


class ResourceRequestReturned(_OfferEvent):
    pass


class ResourceRequestReimbursementUpdated(_OfferEvent):
    pass
