"""Reads across borders, with the visibility rule applied."""

from collections.abc import Iterable

from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.lookups import In

from coordination.principals import with_bodies
from sharing.eventlog import about_facts
from sharing.models import SUBJECT_DATA_KINDS, AddressedToBody, DataKind, Event
from sharing.visibility import Facts, Viewer, bodies_addressed, decide, redact, sharing_context, visible_q

# What an incident's being addressed to a body opens to the body's officers: the incident's own
# data (its events and its situation reports'), as its page shows it to them
# (incidents.selectors: sharing.visibility.addressed).
ADDRESSED_KINDS = frozenset({DataKind.INCIDENTS, DataKind.SITREPS})


def event_facts(event: Event, *, addressed: dict[str, frozenset[str]] | None = None) -> Facts:
    """`addressed`: the bodies incidents are addressed to (`events_addressed`), asked for several
    events at once; without it, asked for this event alone."""
    if addressed is None:
        addressed = events_addressed([event])
    about, about_fields = about_facts(event.about)
    return Facts(
        data_kind=event.data_kind,
        owner=event.owner,
        cluster=event.cluster,
        jurisdictions=frozenset(event.jurisdiction_codes),
        level=event.level,
        category=event.category,
        about=about,
        about_fields=about_fields,
        bodies=event_bodies(event) | addressed.get(event_incident(event), frozenset()),
    )


# The payload's keys that name a body the event itself is addressed to.
BODY_KEYS = ("target_body", "for_body")


def event_bodies(event: Event) -> frozenset[str]:
    """The coordination bodies an event itself is addressed to: an escalation's target body, an
    acknowledgement requested of a body (its `for_body`). Their seated officers are concerned,
    as they are by every event about an incident addressed to their body (`event_incident`)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    return frozenset(code for code in (payload.get(key) for key in BODY_KEYS) if isinstance(code, str) and code)


def event_incident(event: Event) -> str:
    """The incident an event of the incident's own data is about ("" for none or other data):
    its subject, or the incident its payload names (a situation report, a playbook's run,
    request or escalation, a notification)."""
    if event.data_kind not in ADDRESSED_KINDS:
        return ""
    if event.subject_type == "incident":
        return event.subject_id
    incident = event.payload.get("incident") if isinstance(event.payload, dict) else None
    return incident if isinstance(incident, str) else ""


def events_addressed(events: Iterable[Event], *, among: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
    """The bodies the events' incidents are addressed to (only those in `among` when given), in
    one query: what `event_facts` adds to each event's own bodies."""
    return bodies_addressed({event_incident(event) for event in events}, among=among)


def addressed_events_q(viewer: Viewer) -> Q:
    """`event_facts`' bodies as a filter, for a viewer seated on a body: events addressed to one
    of its bodies, and events of the incident data of an incident addressed to one."""
    bodies = sorted(viewer.bodies)
    incidents = AddressedToBody.objects.filter(body_id__in=bodies).values("incident")
    q = Q(pk__in=[])
    for key in BODY_KEYS:
        q |= In(KT(f"payload__{key}"), bodies)
    return q | Q(Q(data_kind__in=sorted(ADDRESSED_KINDS)),
                 Q(subject_type="incident", subject_id__in=incidents) | In(KT("payload__incident"), incidents))


def event_message(event: Event, *, withheld=frozenset()) -> dict:
    """An event as subscribers receive it (docs/api.md, "Stream"), the same on the stream and the log."""
    return {
        "type": "event",
        "seq": event.seq,
        "event": event.name,
        "at": event.at.isoformat(),
        "cluster": event.cluster,
        "data": redact(event.payload, withheld),
    }


def concerns(code: str) -> Q:
    """Events that name `code` among the jurisdictions concerned."""
    return Q(jurisdictions__contains=f",{code},")


def visible_events_q(viewer: Viewer, *, ctx=None) -> Q:
    ctx = ctx or sharing_context()
    concerned = concerns(viewer.jurisdiction)
    if viewer.bodies:
        concerned |= addressed_events_q(viewer)
    q = Q(pk__in=[])
    for kind in SUBJECT_DATA_KINDS:
        q |= Q(data_kind=kind) & visible_q(
            viewer, kind, owner="owner", concerned=concerned, level="level",
            category="category", ctx=ctx,
        )
    return q


def events_visible_to(*, principal, since: int, limit: int) -> list[dict]:
    """Events after `since` the principal may see, oldest first, as subscribers get them.

    The database narrows with the rule's filter form; `decide` then gives each event's
    withheld fields (the same grants, so the two never disagree on what is visible).
    """
    viewer = Viewer.of(with_bodies(principal))
    ctx = sharing_context()
    events = list(Event.objects.filter(seq__gt=since).filter(visible_events_q(viewer, ctx=ctx)).order_by("seq")[:limit])
    addressed = events_addressed(events, among=viewer.bodies)
    messages = []
    for event in events:
        decision = decide(viewer, event_facts(event, addressed=addressed), ctx=ctx)
        if decision:
            messages.append(event_message(event, withheld=decision.withheld))
    return messages
