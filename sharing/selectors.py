"""Reads across borders, with the visibility rule applied."""

from django.db.models import Q

from sharing.eventlog import about_facts
from sharing.models import SUBJECT_DATA_KINDS, Event
from sharing.visibility import Facts, Viewer, decide, redact, sharing_context, visible_q


def event_facts(event: Event) -> Facts:
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
        bodies=event_bodies(event),
    )


def event_bodies(event: Event) -> frozenset[str]:
    """The coordination bodies an event is addressed to: an escalation's target body, an
    acknowledgement requested of a body (its `for_body`). Their seated officers are concerned."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    return frozenset(code for code in (payload.get("target_body"), payload.get("for_body")) if isinstance(code, str)
                     and code)


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
    q = Q(pk__in=[])
    for kind in SUBJECT_DATA_KINDS:
        q |= Q(data_kind=kind) & visible_q(
            viewer, kind, owner="owner", concerned=concerns(viewer.jurisdiction), level="level",
            category="category", ctx=ctx,
        )
    return q


def events_visible_to(*, principal, since: int, limit: int) -> list[dict]:
    """Events after `since` the principal may see, oldest first, as subscribers get them.

    The database narrows with the rule's filter form; `decide` then gives each event's
    withheld fields (the same grants, so the two never disagree on what is visible).
    """
    viewer = Viewer.of(principal)
    ctx = sharing_context()
    events = Event.objects.filter(seq__gt=since).filter(visible_events_q(viewer, ctx=ctx)).order_by("seq")[:limit]
    messages = []
    for event in events:
        decision = decide(viewer, event_facts(event), ctx=ctx)
        if decision:
            messages.append(event_message(event, withheld=decision.withheld))
    return messages
