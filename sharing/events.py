"""Every event the service emits, by name, with the schema of its payload (sharing/event_schemas/).

One pydantic model per event name, `extra="forbid"`: an event whose payload drifts from its
schema fails where it is emitted (and in the tests that cover every emit site), not in a
subscriber's parser. The payload is what subscribers receive as `data` (docs/api.md, "Events").
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnknownEvent(ValueError):
    pass


class InvalidPayload(ValueError):
    pass


EVENT_SCHEMAS: dict[str, type[Payload]] = {}


def register(name: str):
    """Class decorator: the schema of event `name`."""

    def wrap(model: type[Payload]) -> type[Payload]:
        if name in EVENT_SCHEMAS:
            raise RuntimeError(f"event {name} registered twice")
        EVENT_SCHEMAS[name] = model
        return model

    return wrap


def validate_payload(name: str, payload: dict[str, Any]) -> None:
    schema = EVENT_SCHEMAS.get(name)
    if schema is None:
        raise UnknownEvent(f"{name} is not a registered event (sharing/events.py)")
    try:
        schema.model_validate(payload)
    except ValidationError as exc:
        raise InvalidPayload(f"{name}: {exc}") from exc


# The schemas themselves, one module per domain, each registering its events on import.
from sharing import event_schemas  # noqa: E402,F401
