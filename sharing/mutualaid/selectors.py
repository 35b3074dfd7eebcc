"""Reads of inventories and mutual aid, with the visibility rule (sharing.visibility) applied.

Everything here is data of kind `resources`: an inventory is its jurisdiction's, seen by
others only under an agreement (or by the cluster's coordinators); a request is the
requester's and concerns the jurisdictions it was sent to; an offer (and the commitment it
becomes) is the offerer's and concerns the requester. Lists filter with `visible_q`, single
objects are judged with `decide`, withheld fields are removed, and a read of another
jurisdiction's data is audited (one entry per request, naming what was read).
"""

from collections.abc import Iterable, Sequence

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from config.errors import NotFound
from coordination.audit import audit_record
from coordination.principals import Principal
from incidents.models import AffectedJurisdiction
from incidents.selectors import incident_facts
from sharing.models import DataKind
from sharing.mutualaid.lifecycle import TAKING_OFFERS, OfferStatus
from sharing.mutualaid.models import (
    Inventory,
    InventoryMovement,
    Offer,
    RequestMessage,
    RequestRecipient,
    ResourceRequest,
    ResourceType,
)
from sharing.mutualaid.payloads import fields_from_incident, inventory_data, offer_data, request_data
from sharing.visibility import Facts, Viewer, decide, redact, sharing_context, visible_q

# --- facts for the rule ---------------------------------------------------------------------------


def inventory_facts(inventory: Inventory) -> Facts:
    return Facts(data_kind=DataKind.RESOURCES, owner=inventory.jurisdiction_id)


def request_facts(request: ResourceRequest, *, recipients: Iterable[str]) -> Facts:
    """A request is the requester's, concerning the jurisdictions it was sent to; the keys it
    takes from its incident are judged by the incident's own facts (a recipient may not see
    the incident: a level IV one, or the whole cluster asked for a level III one)."""
    return Facts(data_kind=DataKind.RESOURCES, owner=request.requester_id, cluster=request.cluster_id,
                 jurisdictions=frozenset(recipients), level=request.incident.level,
                 category=request.incident.category, about=request_incident_facts(request),
                 about_fields=fields_from_incident(request))


def request_incident_facts(request: ResourceRequest) -> Facts:
    incident = request.incident
    return incident_facts(incident, affected=[row.jurisdiction_id for row in incident.affected.all()])


def offer_facts(offer: Offer, request: ResourceRequest) -> Facts:
    return Facts(data_kind=DataKind.RESOURCES, owner=offer.jurisdiction_id, cluster=request.cluster_id,
                 jurisdictions=frozenset({request.requester_id}), level=request.incident.level,
                 category=request.incident.category)


def _audit_read(principal: Principal, *, action: str, object_type: str, objects: Sequence[tuple[int, str]]) -> None:
    """Reads across a border leave a trace; one's own do not. `objects` are (id, owner)."""
    others = [(pk, owner) for pk, owner in objects if owner != principal.jurisdiction]
    if not others:
        return
    owners = sorted({owner for _, owner in others})
    audit_record(actor=principal, action=action, object_type=object_type,
                 object_id=str(others[0][0]) if len(others) == 1 else "",
                 object_jurisdiction=owners[0] if len(owners) == 1 else "",
                 detail={"ids": [pk for pk, _ in others], "owners": owners})


# --- the catalogue ------------------------------------------------------------------------------


def resource_type_list() -> QuerySet[ResourceType]:
    return ResourceType.objects.all()


def resource_type_get(*, code: str) -> ResourceType:
    try:
        return ResourceType.objects.get(code=code)
    except ResourceType.DoesNotExist:
        raise NotFound(f"No resource type {code!r}.") from None


# --- inventories ------------------------------------------------------------------------------------


def inventory_list_visible_to(*, principal: Principal) -> QuerySet[Inventory]:
    visible = visible_q(Viewer.of(principal), DataKind.RESOURCES, owner="jurisdiction", concerned=Q(pk__in=[]))
    return Inventory.objects.filter(visible).select_related("resource_type").order_by("updated_at", "id")


def inventories_read_by(*, principal: Principal, inventories: Sequence[Inventory]) -> list[dict]:
    viewer, ctx, now = Viewer.of(principal), sharing_context(), timezone.now()
    items, read = [], []
    for inventory in inventories:
        decision = decide(viewer, inventory_facts(inventory), ctx=ctx, now=now)
        if not decision:
            continue  # the filter and the rule are one grant list; this only guards a race with an edit
        items.append(redact(inventory_data(inventory), decision.withheld))
        read.append((inventory.pk, inventory.jurisdiction_id))
    _audit_read(principal, action="inventory.listed", object_type="inventory", objects=read)
    return items


def _visible_inventory(principal: Principal, inventory_id) -> tuple[Inventory, frozenset[str]]:
    inventory = (Inventory.objects.select_related("resource_type").filter(pk=inventory_id).first()
                 if str(inventory_id).isdigit() else None)
    decision = decide(Viewer.of(principal), inventory_facts(inventory)) if inventory else None
    if not decision:
        raise NotFound("No such inventory.")
    return inventory, decision.withheld


def inventory_read_by(*, principal: Principal, inventory_id) -> dict:
    inventory, withheld = _visible_inventory(principal, inventory_id)
    _audit_read(principal, action="inventory.viewed", object_type="inventory",
                objects=[(inventory.pk, inventory.jurisdiction_id)])
    return redact(inventory_data(inventory), withheld)


def inventory_movements_read_by(*, principal: Principal, inventory_id) -> QuerySet[InventoryMovement]:
    """The ledger of a visible inventory, in order."""
    inventory, _ = _visible_inventory(principal, inventory_id)
    _audit_read(principal, action="inventory.ledger_viewed", object_type="inventory",
                objects=[(inventory.pk, inventory.jurisdiction_id)])
    return inventory.movements.order_by("at", "id")


# --- requests ---------------------------------------------------------------------------------------


def _with_parts(requests: QuerySet[ResourceRequest]) -> QuerySet[ResourceRequest]:
    return requests.select_related("incident", "resource_type").prefetch_related(
        Prefetch("recipients", queryset=RequestRecipient.objects.only("request_id", "jurisdiction_id")),
        Prefetch("incident__affected", queryset=AffectedJurisdiction.objects.only("incident_id", "jurisdiction_id")),
        Prefetch("offers", queryset=Offer.objects.select_related("reimbursement").order_by("id")),
    )


def request_list_visible_to(*, principal: Principal) -> QuerySet[ResourceRequest]:
    viewer = Viewer.of(principal)
    sent_to_viewer = Exists(RequestRecipient.objects.filter(request=OuterRef("pk"),
                                                            jurisdiction_id=viewer.jurisdiction))
    visible = visible_q(viewer, DataKind.RESOURCES, owner="requester", concerned=sent_to_viewer,
                        level="incident__level", category="incident__category")
    return _with_parts(ResourceRequest.objects.filter(visible)).order_by("-created_at", "-id")


def _request_seen(viewer: Viewer, request: ResourceRequest, *, ctx, now) -> tuple[dict | None, list[Offer]]:
    """The request as the viewer may have it, with the offers it may see; (None, []) if hidden."""
    recipients = [row.jurisdiction_id for row in request.recipients.all()]
    decision = decide(viewer, request_facts(request, recipients=recipients), ctx=ctx, now=now)
    if not decision:
        return None, []
    data = redact(request_data(request, incident_public_id=request.incident.public_id, recipients=recipients),
                  decision.withheld)
    offers = [offer for offer in request.offers.all() if decide(viewer, offer_facts(offer, request), ctx=ctx, now=now)]
    data["offers"] = [offer_data(offer, cluster=request.cluster_id) for offer in offers]
    return data, offers


def requests_read_by(*, principal: Principal, requests: Sequence[ResourceRequest]) -> list[dict]:
    viewer, ctx, now = Viewer.of(principal), sharing_context(), timezone.now()
    items, read = [], []
    for request in requests:
        data, _ = _request_seen(viewer, request, ctx=ctx, now=now)
        if data is not None:
            items.append(data)
            read.append((request.pk, request.requester_id))
    _audit_read(principal, action="resource_request.listed", object_type="resource_request", objects=read)
    return items


def _visible_request(principal: Principal, request_id) -> tuple[ResourceRequest, dict, list[Offer]]:
    request = (_with_parts(ResourceRequest.objects.filter(pk=request_id)).first()
               if str(request_id).isdigit() else None)
    if request is None:
        raise NotFound("No such resource request.")
    data, offers = _request_seen(Viewer.of(principal), request, ctx=sharing_context(), now=timezone.now())
    if data is None:
        raise NotFound("No such resource request.")
    return request, data, offers


def request_read_by(*, principal: Principal, request_id) -> dict:
    request, data, _ = _visible_request(principal, request_id)
    _audit_read(principal, action="resource_request.viewed", object_type="resource_request",
                objects=[(request.pk, request.requester_id)])
    return data


def request_thread_read_by(*, principal: Principal, request_id) -> tuple[ResourceRequest, dict,
                                                                           list[RequestMessage]]:
    """The request's EDXL-RM thread as the principal may see it: the messages of offers it may
    not see are left out (the rest of the thread stays whole)."""
    request, data, offers = _visible_request(principal, request_id)
    seen = {offer.pk for offer in offers}
    messages = [message for message in request.messages.select_related("sender").order_by("at", "id")
                if message.offer_id is None or message.offer_id in seen]
    _audit_read(principal, action="resource_request.thread_exported", object_type="resource_request",
                objects=[(request.pk, request.requester_id)])
    return request, data, messages


# --- what a jurisdiction owes (the duty officer's inbox, ui.inbox) ---------------------------------


def offers_to_accept(*, principal: Principal) -> QuerySet[Offer]:
    """Offers made to the caller's jurisdiction's own requests and not accepted yet, while the
    request still takes offers and lacks something; the request needed soonest first."""
    return (Offer.objects.filter(status=OfferStatus.OFFERED, request__requester_id=principal.jurisdiction,
                                 request__status__in=TAKING_OFFERS,
                                 request__accepted_quantity__lt=F("request__quantity"))
            .select_related("request__incident", "request__resource_type")
            .order_by("request__needed_by", "id"))


def requests_to_answer(*, principal: Principal) -> list[ResourceRequest]:
    """Requests sent to the caller's jurisdiction that still take offers and lack something,
    and to which it has made no offer yet; needed soonest first. Each carries
    `incident_withheld`: the rule hides the request's incident from a recipient that may not
    see it (a level IV one), and then neither its id nor its title may be shown.

    Not audited as a read across a border: it is what was addressed to the caller, read again
    at every refresh of the inbox (as the acknowledgements it is asked for are)."""
    viewer, ctx, now = Viewer.of(principal), sharing_context(), timezone.now()
    me = viewer.jurisdiction
    rows = (request_list_visible_to(principal=principal)
            .filter(Exists(RequestRecipient.objects.filter(request=OuterRef("pk"), jurisdiction_id=me)),
                    status__in=TAKING_OFFERS, accepted_quantity__lt=F("quantity"))
            .exclude(requester_id=me)
            .exclude(Exists(Offer.objects.filter(request=OuterRef("pk"), jurisdiction_id=me)))
            .order_by("needed_by", "id"))
    answer = []
    for request in rows:
        recipients = [row.jurisdiction_id for row in request.recipients.all()]
        decision = decide(viewer, request_facts(request, recipients=recipients), ctx=ctx, now=now)
        if decision:
            request.incident_withheld = "incident" in decision.withheld
            answer.append(request)
    return answer
