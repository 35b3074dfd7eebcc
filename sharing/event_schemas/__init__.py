"""Event payload schemas, one module per domain; sharing/events.py lists every event by name
with its schema from these modules.

A schema whose payload is also what the API answers (an incident, a timeline entry, a
situation report: incidents.payloads builds both) is that shape's one declaration: the OpenAPI
component is derived from it (config.schema.PayloadOutput), so it says what the API needs to
document too: descriptions, times (`Instant`), and for a code its column (`choices_of`).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    """What every event's payload schema is: a field nobody declared is an error."""

    model_config = ConfigDict(extra="forbid")


# A time as payloads render it: ISO 8601 with the cluster's offset (incidents.payloads._time).
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def choices_of(model: str, field: str):
    """A code whose values are those of a model's column (`"incidents.Incident"`, `"status"`):
    the OpenAPI document lists them (config.schema). Named lazily, as a foreign key names a model
    above its own layer; events are not checked against the list (the column is)."""
    return Field(json_schema_extra={"x-choices-of": f"{model}.{field}"})
