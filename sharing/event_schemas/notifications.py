"""Who was reached (coordination.notify emits them; coordination/notify/events.py builds them):
one event when a notification row reaches a state a person cares about. The payload names the
recipient by display name, never the address a message went to (contact details are personal
data: docs/people.md). Each is about its incident, so the visibility rule judges it by the
incident's facts and the jurisdiction reached, as an acknowledgement request is judged.

Queued rows emit nothing: they are written in bulk with the request they announce (the outbox),
and an event per row there would double the writes of every request. Nor do cancelled ones
(one bulk update when a request is answered: the `acknowledgement.received` event says it).
"""

from typing import Annotated

from sharing.event_schemas import Instant, Payload, choices_of


class Notification(Payload):
    id: str
    incident: str
    acknowledgement: str | None
    jurisdiction: str | None  # the jurisdiction reached (None: a coordination body)
    body: str | None  # the coordination body reached, if any
    recipient: str  # the recipient's display name (never the address)
    channel: Annotated[str, choices_of("notify.Notification", "channel")]
    state: Annotated[str, choices_of("notify.Notification", "state")]
    at: Instant  # when this state was reached
    attempts: int
    error_kind: str | None  # coordination.notify.providers.errors.error_kind of the error code


class NotificationSent(Notification):
    pass


class NotificationDelivered(Notification):
    pass


class NotificationFailed(Notification):
    pass


class NotificationOpened(Notification):
    """The message's acknowledgement link was opened (the first time)."""


class NotificationAcknowledged(Notification):
    pass
