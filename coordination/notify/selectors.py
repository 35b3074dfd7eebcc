"""Reading notifications: who was reached for an incident, on which channel, and when.

Seen as the incident is (sharing.visibility, through incidents.selectors): a jurisdiction that
may not see the incident gets a 404, as for the incident itself. The address a message went to
is personal data: it is shown only to whoever coordination.people's rule lets see that
officer's contact details (people.selectors.may_see_contacts), and each read of someone
else's is audited, as people's own reads are.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from config.errors import NotFound
from coordination.audit import audit_record
from coordination.models import Membership
from coordination.notify.models import Notification
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
