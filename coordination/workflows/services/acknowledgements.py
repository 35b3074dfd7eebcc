"""An acknowledgement answered: by the jurisdiction it is addressed to, or, once escalated to
a coordination body, by one of the body's seated officers in its place. The API, the stream's
`ack` action, the web UI and a notification's link or reply all answer through here.
"""


from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound, PermissionDenied
from coordination.audit import audit_record
from coordination.notify.services import notifications_cancel
from coordination.principals import Principal, require, with_bodies
from coordination.roles import Action
from coordination.workflows import events, payloads, reconcile
from coordination.workflows.contract import (
    ACK_COMMENT_MAX_LENGTH,
    text_checked,
)
from coordination.workflows.models import (
    Acknowledgement,
    AckStatus,
)
from coordination.workflows.selectors import (
    acknowledgement_facts,
    bodies_escalated_to,
)
from coordination.workflows.services.lookup import parsed_id, visible_or_404
from coordination.workflows.timeline import Note, timeline_note
from sharing.eventlog import emit_event


def acknowledgement_acknowledge(*, actor: Principal, acknowledgement_id, comment: str = "") -> Acknowledgement:
    """Acknowledge a request addressed to the caller's jurisdiction (the API's POST …/ack/,
    the stream's `ack` action, the web UI). Acknowledging again changes nothing; acknowledging
    a request of another jurisdiction is refused, one the caller may not see is a 404, except
    for an officer seated on a coordination body the request was escalated to: they answer
    for the body, in the silent jurisdiction's place (recorded as the person, for the body).
    `comment` (optional, up to Acknowledgement.comment's length) is kept with the answer and
    written on the timeline.

    An acknowledgement answered before its deadline check claims it never escalates: both
    lock the same row, and the check only escalates a request that is still pending.
    """
    require(actor, Action.ACKNOWLEDGE, "Your role or scopes do not allow acknowledging.")
    pk = parsed_id(acknowledgement_id)
    comment = text_checked("comment", comment or "", limit=ACK_COMMENT_MAX_LENGTH,
                    required=False)
    now = timezone.now()
    with transaction.atomic():
        ack = (Acknowledgement.objects.select_for_update(no_key=True, of=("self",))
               .select_related("incident", "run", "run__playbook").filter(pk=pk).first())
        if ack is None:
            raise NotFound("No such acknowledgement request.")
        for_body = None
        if ack.jurisdiction_id != actor.jurisdiction:
            actor = with_bodies(actor)
            for_body = min(set(actor.bodies) & bodies_escalated_to(ack), default=None)
        visible_or_404(actor, acknowledgement_facts(ack))
        if ack.jurisdiction_id != actor.jurisdiction and for_body is None:
            raise PermissionDenied(f"This request is addressed to {ack.jurisdiction_id}; a jurisdiction "
                                   "acknowledges only on its own behalf, or a coordination body's officer "
                                   "for the body it was escalated to.")
        if for_body and ack.incident.owner == actor.jurisdiction:
            # Escalation never comes back to the reporter (escalation.chain_stages), through a body neither.
            raise PermissionDenied("Your jurisdiction reported this incident; another of the body's officers "
                                   "answers for the body.")
        if ack.status == AckStatus.ACKNOWLEDGED:
            return ack
        if ack.status == AckStatus.CANCELLED:
            raise Conflict("This request was withdrawn (its run ended); there is nothing to acknowledge.",
                           current_status=ack.status)
        ack.status, ack.acknowledged_at, ack.acknowledged_by = AckStatus.ACKNOWLEDGED, now, actor.label[:200]
        ack.next_check_at, ack.token, ack.comment = None, None, comment
        ack.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "next_check_at", "token", "comment"])
        # Whoever answers, the chain stops: the addressee itself, or the lead city or
        # convener it escalated to, standing in for it.
        root_id = ack.escalation_of_id or ack.pk
        Acknowledgement.objects.filter(pk=root_id, status=AckStatus.PENDING).update(next_check_at=None, token=None)
        Acknowledgement.objects.filter(escalation_of_id=root_id, status=AckStatus.PENDING).exclude(pk=ack.pk).update(
            status=AckStatus.CANCELLED, next_check_at=None, token=None)
        notifications_cancel(chain_of=root_id, now=now)  # nobody else is woken for what is answered
        emit_event("acknowledgement.received", subject=events.ack_subject(ack, ack.run),
                   payload=payloads.acknowledgement_data(ack))
        late = ack.overdue or now > ack.due_at
        if for_body:
            note = Note("ack.received_for_body", {"body": for_body, "jurisdiction": ack.jurisdiction_id})
        else:
            note = Note("ack.received_late" if late else "ack.received", {"jurisdiction": actor.jurisdiction})
        timeline_note(incident=ack.incident_id, at=now, actor=actor, note=note)
        if comment:
            timeline_note(incident=ack.incident_id, at=now, actor=actor,
                          note=Note("ack.comment", {"jurisdiction": ack.jurisdiction_id, "comment": comment}))
        audit_record(actor=actor, action="acknowledgement.received", object_type="acknowledgement",
                     object_id=str(ack.pk), object_jurisdiction=ack.incident.owner,
                     detail={"incident": ack.incident_id, "late": late,
                             **({"for_body": for_body} if for_body else {})})
        reconcile.request_reconcile([ack.run_id])
    return ack
