"""The incident lifecycle, declared once as data (docs/api.md, "Incidents"):

    reported → verified → responding → contained → closed, and cancelled from any open state.

incidents.services enforces it; the database only checks that a status is one of these.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported")
    VERIFIED = "verified", _("Verified")
    RESPONDING = "responding", _("Responding")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


MOVES: dict[str, frozenset[str]] = {
    Status.REPORTED: frozenset({Status.VERIFIED, Status.CANCELLED}),
    Status.VERIFIED: frozenset({Status.RESPONDING, Status.CANCELLED}),
    Status.RESPONDING: frozenset({Status.CONTAINED, Status.CANCELLED}),
    Status.CONTAINED: frozenset({Status.CLOSED, Status.CANCELLED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}

OPEN_STATUSES: frozenset[str] = frozenset(status for status, moves in MOVES.items() if moves)
# The incident is over: nothing follows these.
CLOSED_STATUSES: frozenset[str] = frozenset(status for status, moves in MOVES.items() if not moves)


def may_move(current: str, target: str) -> bool:
    return target in MOVES[current]


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
