"""Finding what a workflow write names: an id parsed, a thing the caller may see (else it does
not exist for them: 404), an incident the caller may see. Shared by the modules of
coordination.workflows.services.
"""

import uuid

from config.errors import NotFound, ValidationFailed
from coordination.principals import Principal
from coordination.workflows.models import IncidentFacts
from coordination.workflows.selectors import incident_visible
from sharing.visibility import Viewer, decide


def parsed_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Not found.") from None


def visible_or_404(actor: Principal, facts) -> None:
    if not decide(Viewer.of(actor), facts):
        raise NotFound("Not found.")


def incident_named(actor: Principal, incident: str) -> IncidentFacts:
    facts = IncidentFacts.objects.filter(pk=incident).first() if isinstance(incident, str) else None
    if facts is None or not incident_visible(actor, facts):
        raise ValidationFailed.on("incident", f"No incident {incident!r} that you may see.")
    return facts
