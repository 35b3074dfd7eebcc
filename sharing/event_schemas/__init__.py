"""Event payload schemas, one module per domain; sharing/events.py lists every event by name
with its schema from these modules."""

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """What every event's payload schema is: a field nobody declared is an error."""

    model_config = ConfigDict(extra="forbid")
