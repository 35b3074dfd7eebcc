"""Who gets an event, and in what form: decided once per event by the dispatcher (the routes of
an event to its audiences; the websocket URL routes are config/routing.py).

A `Route` carries the event's audience groups (sharing.visibility.audience: jurisdictions that
see it with the same fields withheld, and those that see it only through their coordinators),
each with the message already redacted and serialised, so no server process decides or
serialises anything per subscriber. `seq` and `prev` (the event dispatched before it) let a
server process notice that it missed a message and repair from the event log.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sharing.models import Event
from sharing.selectors import event_facts, event_message, events_addressed
from sharing.visibility import audience, sharing_context


def encode(message: dict) -> str:
    """The one wire form of a message (stream frames and webhook bodies)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class RouteGroup:
    text: str
    jurisdictions: frozenset[str]
    coordinators: frozenset[str] = frozenset()
    bodies: frozenset[str] = frozenset()  # coordination bodies whose seated officers see it so


@dataclass(frozen=True)
class Route:
    seq: int
    prev: int
    name: str
    category: str
    level: str
    jurisdictions: tuple[str, ...]  # those the event concerns, for subscribers' filters
    groups: tuple[RouteGroup, ...]

    def text_for(self, jurisdiction: str) -> str | None:
        """The message as an ordinary caller of `jurisdiction` (not a coordinator) sees it."""
        for group in self.groups:
            if jurisdiction in group.jurisdictions:
                return group.text
        return None

    def to_wire(self) -> str:
        return json.dumps({
            "seq": self.seq, "prev": self.prev, "name": self.name, "category": self.category, "level": self.level,
            "jurisdictions": list(self.jurisdictions),
            "groups": [
                {"text": g.text, "jurisdictions": sorted(g.jurisdictions), "coordinators": sorted(g.coordinators),
                 "bodies": sorted(g.bodies)}
                for g in self.groups
            ],
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_wire(cls, raw: str | bytes) -> "Route":
        data = json.loads(raw)
        return cls(
            seq=data["seq"], prev=data["prev"], name=data["name"], category=data["category"], level=data["level"],
            jurisdictions=tuple(data["jurisdictions"]),
            groups=tuple(RouteGroup(g["text"], frozenset(g["jurisdictions"]), frozenset(g["coordinators"]),
                                    frozenset(g.get("bodies", ())))
                         for g in data["groups"]),
        )


def route_event(event: Event, *, prev: int, ctx=None, addressed: dict[str, frozenset[str]] | None = None) -> Route:
    """`addressed`: the bodies the events' incidents are addressed to (`route_events` asks once
    for a batch); without it, asked for this event."""
    facts = event_facts(event, addressed=addressed)
    groups = tuple(
        RouteGroup(encode(event_message(event, withheld=group.withheld)), group.jurisdictions,
                   group.coordinators_only, group.bodies)
        for group in audience(facts, ctx=ctx)
    )
    return Route(seq=event.seq, prev=prev, name=event.name, category=event.category, level=event.level,
                 jurisdictions=tuple(event.jurisdiction_codes), groups=groups)


def route_events(events: Sequence[Event]) -> list[Route]:
    """Routes for numbered events, in seq order.

    The sequencer numbers without holes, so the event before each is the seq just below it:
    a server process that has not relayed that one repairs from the log before relaying this.
    """
    if not events:
        return []
    ctx = sharing_context()
    # An event about an incident addressed to a coordination body reaches the body's officers
    # (sharing.selectors.event_facts): the batch's incidents' bodies, in one query; none while
    # the registry holds no body.
    addressed = events_addressed(events) if ctx.registry.bodies else {}
    return [route_event(event, prev=event.seq - 1, ctx=ctx, addressed=addressed) for event in events]
