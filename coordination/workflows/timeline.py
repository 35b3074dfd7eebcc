"""The one place the workflows write to an incident's timeline.

Every step, acknowledgement, escalation and decision is an event (the workflow's own) and an
entry on the incident's timeline, written in the same transaction through the incidents
app's `incident_timeline_record` (kind "workflow"), which adds no event of its own.
"""

import logging
from datetime import datetime

from coordination.principals import Principal

logger = logging.getLogger("liandong.workflows")


def timeline_note(*, incident: str, text: str, at: datetime, actor: Principal | None = None,
                  data: dict | None = None) -> None:
    """Append `text` to the timeline of the incident with public id `incident`; `actor` None
    is the engine acting on its own."""
    from incidents.models import Incident, TimelineKind
    from incidents.services import incident_timeline_record

    pk = _incident_pk(incident)
    if pk is None:
        logger.warning("timeline note for unknown incident %s dropped: %s", incident, text)
        return
    incident_timeline_record(incident=Incident(pk=pk, public_id=incident), kind=TimelineKind.WORKFLOW, text=text,
                             actor=actor, data=data, at=at)


# An incident's public id names one row for good (it is made from the row's number), so the
# lookup is kept: a run writes a dozen notes on the same incident.
_pks: dict[str, int] = {}


def _incident_pk(public_id: str) -> int | None:
    if public_id not in _pks:
        from incidents.models import Incident

        pk = Incident.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
        if pk is None:
            return None
        if len(_pks) > 10_000:
            _pks.clear()
        _pks[public_id] = pk
    return _pks[public_id]
