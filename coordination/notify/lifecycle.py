"""A notification's lifecycle, declared once as data (docs/notifications.md, "States"):

    queued → sending → sent → delivered → acknowledged
                 ↘ queued (a transient error: tried again after a backoff)
                 ↘ failed (a permanent error, the retries spent, or the outcome unknown)
    queued → cancelled (the acknowledgement was answered, or withdrawn, before it went)

coordination.notify.sending enforces it (`may_move`); the database only checks that a state is
one of these. `sending` is a lease, not a resting state: a worker claimed the row and is handing
it to its provider; a lease that expires is the sign of a worker that died mid-send
(services.py, "Never twice").
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class State(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("notification", "Queued")
    SENDING = "sending", pgettext_lazy("notification", "Sending")
    SENT = "sent", pgettext_lazy("notification", "Sent")
    DELIVERED = "delivered", pgettext_lazy("notification", "Delivered")
    FAILED = "failed", pgettext_lazy("notification", "Failed")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("notification", "Acknowledged")
    CANCELLED = "cancelled", pgettext_lazy("notification", "Cancelled")


MOVES: dict[str, frozenset[str]] = {
    State.QUEUED: frozenset({State.SENDING, State.CANCELLED}),
    # SENDING → SENDING: a lease that expired is claimed again (only through a provider that
    # deduplicates by the idempotency key; services.py, "Never twice").
    State.SENDING: frozenset({State.SENDING, State.SENT, State.QUEUED, State.FAILED}),
    # A receipt may still say the provider could not deliver what it accepted.
    State.SENT: frozenset({State.DELIVERED, State.FAILED, State.ACKNOWLEDGED}),
    State.DELIVERED: frozenset({State.ACKNOWLEDGED}),
    # A message whose outcome was unknown may have arrived after all: its link still answers.
    State.FAILED: frozenset({State.ACKNOWLEDGED}),
    State.ACKNOWLEDGED: frozenset(),
    State.CANCELLED: frozenset(),
}

# Rows a worker may still send (claimable once due).
PENDING_STATES: frozenset[str] = frozenset({State.QUEUED})
# Rows whose message went out: their acknowledgement link may be used.
OUT_STATES: frozenset[str] = frozenset({State.SENT, State.DELIVERED, State.FAILED})
# Nothing follows these.
FINAL_STATES: frozenset[str] = frozenset(state for state, moves in MOVES.items() if not moves)

# The column that records when a row reached each state (the API shows them all).
STATE_TIMES: dict[str, str] = {
    State.QUEUED: "queued_at",
    State.SENT: "sent_at",
    State.DELIVERED: "delivered_at",
    State.FAILED: "failed_at",
    State.ACKNOWLEDGED: "acknowledged_at",
    State.CANCELLED: "cancelled_at",
}


def may_move(current: str, target: str) -> bool:
    return target in MOVES[current]


class Reason(models.TextChoices):
    """Why a person is reached: what the message asks (rendering.py has a template per reason)."""

    ACK_REQUESTED = "ack.requested", _("Asked to acknowledge")
    ACK_IN_PLACE = "ack.in_place", _("Asked to acknowledge in another jurisdiction's place")
