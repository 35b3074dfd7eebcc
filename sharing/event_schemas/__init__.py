"""Event payload schemas by domain. Each module registers its events (sharing.events.register);
add a module here when a domain gets events."""

from sharing.event_schemas import (  # noqa: F401
    agreements,
    alerts,
    incidents,
    resources,
    stream,
    workflows,
)
