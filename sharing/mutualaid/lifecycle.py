"""The mutual-aid lifecycle, declared once as data (EDXL-RM and EMAC practice).

A request is made and goes to the eligible jurisdictions; each may offer all or part of it;
the requester accepts offers, and each accepted offer is a commitment of the offerer's stock,
which then moves on its own:

    offered → committed → dispatched → arrived → released → returned

A request is cancellable while nothing of it has been dispatched: offers lapse and commitments
go back to their inventories. The request's own status is that of its least advanced
commitment (`open` while it still collects offers), so the whole of it is read at a glance.

sharing.mutualaid.services enforces this table; nothing else decides what may follow what.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from coordination.roles import Action


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    COMMITTED = "committed", _("Committed")
    DISPATCHED = "dispatched", _("Dispatched")
    ARRIVED = "arrived", _("Arrived")
    RELEASED = "released", _("Released")
    RETURNED = "returned", _("Returned")
    LAPSED = "lapsed", _("Lapsed (never accepted)")
    CANCELLED = "cancelled", _("Cancelled (commitment released)")


class RequestStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("mutual aid request", "Open")
    COMMITTED = "committed", _("Committed")
    DISPATCHED = "dispatched", _("Dispatched")
    ARRIVED = "arrived", _("Arrived")
    RELEASED = "released", _("Released")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


class Party(models.TextChoices):
    REQUESTER = "requester", _("The requesting jurisdiction")
    SUPPLIER = "supplier", _("The jurisdiction whose stock is committed")


# A commitment's stages in order; the request's status is the least advanced of them.
STAGES = (OfferStatus.COMMITTED, OfferStatus.DISPATCHED, OfferStatus.ARRIVED, OfferStatus.RELEASED,
          OfferStatus.RETURNED)


@dataclass(frozen=True)
class Step:
    action: str  # the API's verb: POST /resource-requests/{id}/{action}/
    source: OfferStatus
    target: OfferStatus
    parties: frozenset[Party]  # who may record it
    permission: Action
    event: str
    messages: tuple[str, ...]  # the EDXL-RM messages it adds to the request's thread
    deployment_status: str = ""  # EDXL-RM DeploymentStatus reported, where it reports one


BOTH = frozenset({Party.REQUESTER, Party.SUPPLIER})

ACCEPT = Step("accept", OfferStatus.OFFERED, OfferStatus.COMMITTED, frozenset({Party.REQUESTER}),
              Action.ACCEPT_OFFERS, "resource_request.committed", ("CommitResource",))

# The moves of a commitment after acceptance, by action.
STEPS: dict[str, Step] = {
    step.action: step
    for step in (
        Step("dispatch", OfferStatus.COMMITTED, OfferStatus.DISPATCHED, BOTH, Action.WRITE_RESOURCES,
             "resource_request.dispatched", ("ReportResourceDeploymentStatus",), "Dispatched"),
        Step("arrive", OfferStatus.DISPATCHED, OfferStatus.ARRIVED, BOTH, Action.WRITE_RESOURCES,
             "resource_request.arrived", ("ReportResourceDeploymentStatus",), "Arrived"),
        # Demobilisation is the requesting commander's decision.
        Step("release", OfferStatus.ARRIVED, OfferStatus.RELEASED, frozenset({Party.REQUESTER}),
             Action.ACCEPT_OFFERS, "resource_request.released", ("ReleaseResource",)),
        # The supplier asks for its released resources back and the requester hands them over:
        # recorded by either side once they are home.
        Step("return", OfferStatus.RELEASED, OfferStatus.RETURNED, BOTH, Action.WRITE_RESOURCES,
             "resource_request.returned", ("RequestReturn", "ResponseToRequestReturn")),
    )
}

# Who sends each message of a request's EDXL-RM thread; None: whoever reported the status.
MESSAGE_SENDERS: dict[str, Party | None] = {
    "RequestResource": Party.REQUESTER,
    "ResponseToRequestResource": Party.SUPPLIER,
    "CommitResource": Party.SUPPLIER,
    "ReportResourceDeploymentStatus": None,
    "ReleaseResource": Party.REQUESTER,
    "RequestReturn": Party.SUPPLIER,
    "ResponseToRequestReturn": Party.REQUESTER,
}

CANCEL_PERMISSION = Action.WRITE_RESOURCES
# Cancelling is possible while nothing has left: these are the request statuses that allow it.
CANCELLABLE = frozenset({RequestStatus.OPEN, RequestStatus.COMMITTED})
# Offers and acceptances are taken while some of the quantity is still needed and the request
# is not cancelled or already being wound up.
TAKING_OFFERS = frozenset({RequestStatus.OPEN, RequestStatus.COMMITTED, RequestStatus.DISPATCHED,
                           RequestStatus.ARRIVED})
# A request that is over: everything committed is back home, or it was cancelled. Nothing more
# happens to it (reimbursement aside); boards keep such requests behind a "show finished" filter.
CLOSED = frozenset({RequestStatus.RETURNED, RequestStatus.CANCELLED})


def still_needed(*, status: str, remaining: int) -> int:
    """What a request still lacks as its requester reads it: the quantity nobody has committed
    while offers are taken, and nothing once the request is wound up or over (a request
    returned with 2 of 4 committed is not "2 still needed": nobody can offer them any more)."""
    return remaining if status in TAKING_OFFERS else 0


def request_status(*, cancelled: bool, filled: bool, commitment_statuses) -> RequestStatus:
    """A request's status from its commitments' (see the module docstring)."""
    if cancelled:
        return RequestStatus.CANCELLED
    stages = [STAGES.index(status) for status in commitment_statuses if status in STAGES]
    if not stages:
        return RequestStatus.OPEN
    least = STAGES[min(stages)]
    if least == OfferStatus.COMMITTED:
        return RequestStatus.COMMITTED if filled else RequestStatus.OPEN
    return RequestStatus(least.value)


class ReimbursementStatus(models.TextChoices):
    NONE = "none", _("Nothing claimed yet")
    CLAIMED = "claimed", _("Costs claimed")
    APPROVED = "approved", _("Claim approved")
    PAID = "paid", _("Paid")


@dataclass(frozen=True)
class ReimbursementStep:
    action: str
    source: frozenset[ReimbursementStatus]
    target: ReimbursementStatus
    party: Party
    permission: Action


# The costs of a commitment (EDXL-RM leaves them out; mutual-aid practice needs them): the
# supplier claims (and may correct its claim until it is approved), the requester approves an
# amount up to the claim and pays what it approved.
REIMBURSEMENT_STEPS: dict[str, ReimbursementStep] = {
    step.action: step
    for step in (
        ReimbursementStep("claim", frozenset({ReimbursementStatus.NONE, ReimbursementStatus.CLAIMED}),
                          ReimbursementStatus.CLAIMED, Party.SUPPLIER, Action.WRITE_RESOURCES),
        ReimbursementStep("approve", frozenset({ReimbursementStatus.CLAIMED}), ReimbursementStatus.APPROVED,
                          Party.REQUESTER, Action.ACCEPT_OFFERS),
        ReimbursementStep("pay", frozenset({ReimbursementStatus.APPROVED}), ReimbursementStatus.PAID,
                          Party.REQUESTER, Action.ACCEPT_OFFERS),
    )
}
