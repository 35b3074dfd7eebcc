"""Reading notifications: who was reached for an incident, on which channel, and when.

Seen as the incident is (sharing.visibility, through incidents.selectors): a jurisdiction that
may not see the incident gets a 404, as for the incident itself. The address a message went to
is personal data: it is shown only to whoever coordination.people's rule lets see that
officer's contact details (people.selectors.may_see_contacts), and each read of someone
else's is audited, as people's own reads are.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import pgettext_lazy

from config.errors import NotFound
from coordination.audit import audit_record
from coordination.models import CoordinationBody, Membership
from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from coordination.notify.providers.errors import error_label
from coordination.people.models import Channel
from coordination.people.selectors import may_see_contacts
from coordination.principals import Principal
from incidents.selectors import incident_list_visible_to


@dataclass(frozen=True)
class Reached:
    rows: list[Notification]
    addresses_of: frozenset[int]  # recipients whose addresses the reader may see


def notifications_of_incident(*, principal: Principal, incident: str) -> Reached:
    """The incident's notifications (by its public id), oldest first, for a reader who may
    see the incident; NotFound otherwise."""
    found = incident_list_visible_to(principal=principal).filter(public_id=incident).values_list("pk", flat=True)
    pk = next(iter(found), None)
    if pk is None:
        raise NotFound("No such incident.")
    rows = list(_rows().filter(incident_id=pk))
    recipients = {row.recipient_id for row in rows}
    homes = dict(Membership.objects.filter(user_id__in=recipients).values_list("user_id", "jurisdiction_id"))
    allowed = frozenset(user_id for user_id in recipients if may_see_contacts(principal, user_id, homes.get(user_id)))
    others = sorted(user_id for user_id in allowed if user_id != principal.user_id)
    if others:
        with transaction.atomic():
            audit_record(actor=principal, action="contacts.read", object_type="incident", object_id=incident,
                         detail={"notifications_of": others})
    return Reached(rows=rows, addresses_of=allowed)


def _rows() -> QuerySet[Notification]:
    return (Notification.objects.select_related("recipient", "incident")
            .order_by("created_at", "jurisdiction_id", "rank", "recipient_id", "position"))


# --- who was reached, for the incident page ------------------------------------------------------

# The moments a row's channel line shows, in the order they happen (lifecycle.STATE_TIMES, and
# the link opened, which is a moment rather than a state).
MOMENTS = {
    "queued_at": State.QUEUED.label, "sent_at": State.SENT.label, "delivered_at": State.DELIVERED.label,
    "failed_at": State.FAILED.label, "opened_at": pgettext_lazy("notification", "Link opened"),
    "acknowledged_at": State.ACKNOWLEDGED.label, "cancelled_at": State.CANCELLED.label,
}


def _line(row: Notification) -> "ChannelLine":
    return ChannelLine(
        channel=row.channel, state=row.state, channel_label=Channel(row.channel).label,
        state_label=State(row.state).label,
        moments=[(label, getattr(row, column)) for column, label in MOMENTS.items() if getattr(row, column)],
        error=error_label(row.error_code) if row.state == State.FAILED and row.error_code else "",
        attempts=row.attempts)


@dataclass(frozen=True)
class ChannelLine:
    channel: str
    state: str
    channel_label: object  # lazily translated: rendered in the reader's language
    state_label: object
    moments: list[tuple[object, object]]  # (what happened, translated lazily; when)
    error: object  # what went wrong (providers.errors.error_label), or ""
    attempts: int  # how many times it was handed to its provider (a failure after retries says so)


@dataclass(frozen=True)
class PersonReached:
    name: str
    rank: int
    channels: list[ChannelLine]


@dataclass(frozen=True)
class PlaceReached:
    jurisdiction: str | None
    body: str | None
    body_row: object  # the CoordinationBody (its names, for the page), or None
    no_roster: bool  # the timeline says no duty roster covered the moment: its officers were reached
    people: list[PersonReached]
    # Who was passed over for having no contact method (the timeline's notify.no_contact), by name.
    no_contact: tuple[str, ...] = ()


def reached_of_incident(*, principal: Principal, incident: str) -> list[PlaceReached]:
    """Who was reached for an incident (by public id), grouped per jurisdiction (or coordination
    body) and person, each channel with its state and the time of each state it reached. Seen
    as the incident is (NotFound otherwise); never the addresses, so nothing here is personal
    data and nothing is audited."""
    from coordination.duty.selectors import display_name
    from incidents.models import TimelineEntry

    found = incident_list_visible_to(principal=principal).filter(public_id=incident).values_list("pk", flat=True)
    pk = next(iter(found), None)
    if pk is None:
        raise NotFound("No such incident.")
    uncovered: set[tuple[str, str]] = set()
    no_contact: dict[str, list[str]] = {}
    notes = TimelineEntry.objects.filter(incident_id=pk, data__code__in=[
        "notify.no_roster", "notify.no_body_roster", "notify.no_contact"]).order_by("at", "pk")
    for data in notes.values_list("data", flat=True):
        params = data.get("params") or {}
        if data.get("code") == "notify.no_contact":
            names = no_contact.setdefault(params.get("jurisdiction") or "", [])
            names.extend(name for name in params.get("people") or [] if name not in names)
            continue
        if params.get("jurisdiction"):
            uncovered.add(("jurisdiction", params["jurisdiction"]))
        if params.get("body"):
            uncovered.add(("body", params["body"]))
    places: dict[tuple, dict[int, list[Notification]]] = {}
    for row in _rows().filter(incident_id=pk).order_by("jurisdiction_id", "body_id", "rank", "recipient_id",
                                                       "position", "created_at"):
        places.setdefault((row.jurisdiction_id, row.body_id), {}).setdefault(row.recipient_id, []).append(row)
    for jurisdiction in no_contact:  # a jurisdiction where nobody could be reached has no rows
        if jurisdiction:
            places.setdefault((jurisdiction, None), {})
    bodies = CoordinationBody.objects.in_bulk([body for _, body in places if body])
    result = []
    for (jurisdiction, body), people in places.items():
        persons = [
            PersonReached(name=display_name(rows[0].recipient), rank=min(row.rank for row in rows),
                          channels=[_line(row) for row in rows])
            for rows in people.values()
        ]
        no_roster = (("jurisdiction", jurisdiction) in uncovered) if jurisdiction else (("body", body) in uncovered)
        result.append(PlaceReached(jurisdiction=jurisdiction, body=body, body_row=bodies.get(body), no_roster=no_roster,
                                   people=persons, no_contact=tuple(no_contact.get(jurisdiction or "", ()))
                                   if jurisdiction else ()))
    return result


# --- web push: the key browsers subscribe with ------------------------------------------------------


def vapid_public_key() -> str:
    """The application server key a browser's PushManager.subscribe takes (base64url of the
    uncompressed P-256 point), derived from WEBPUSH_VAPID_PRIVATE_KEY, the key the web push
    adapter signs with (docs/providers.md, "Web push"); "" when none is configured."""
    import base64

    from cryptography.hazmat.primitives import serialization

    from coordination.notify.providers.webpush import vapid_from_setting

    configured = settings.WEBPUSH_VAPID_PRIVATE_KEY
    if not configured:
        return ""
    try:
        point = vapid_from_setting(configured).public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    except Exception:  # noqa: BLE001 - a key the adapter cannot read either: no subscribing to it
        return ""
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()
