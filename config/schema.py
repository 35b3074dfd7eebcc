"""The OpenAPI document (/api/schema/) says what the API does: drf-spectacular reads the views,
and this schema class adds what it cannot read from them (docs/schema.md).

- Every error answer is problem details (config/problems.py): each 4xx and 5xx response is
  documented as `application/problem+json` with the one Problem schema, whatever a view wrote
  for it (a view only says when, in the description).
- The problems that follow from what an operation is (it needs credentials, takes a body,
  names an object in its path, pages by number, ...) are added here, from one table, to every
  operation that can give them; a view declares only those its business rules add (a 409 of a
  lifecycle, a 401 of a login).
- Request bodies that refuse fields they do not know (config.serializers.StrictInput) say so:
  `additionalProperties: false`.
- A parameter of a whole viewset that sits in the path is documented only on the operations
  whose path has it: the collection has no `{id}`, and a document that says so is not valid
  OpenAPI.
- An answer whose shape is an event schema's (an incident: what incidents.payloads builds, the
  API answers and events carry) is declared once, as that schema; its component is derived
  from it (PayloadOutput), not written again as a serializer.
"""

from collections.abc import Callable
from typing import Any, ClassVar, get_args

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from config.problems import PROBLEM_CONTENT_TYPE
from config.serializers import StrictInput
from sharing.event_schemas import Payload
from sharing.visibility import SENSITIVE_FIELDS

# What a view writes for an error its rules add, e.g. responses={..., 409: PROBLEM}; the
# content is filled in here.
PROBLEM = OpenApiResponse(description=_("Problem details."))

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details. Some problems add members of their own (a CAP rejection "
                   "`code`, `reason`, `line`, `element`; a lifecycle conflict what was allowed).",
    "properties": {
        "type": {"type": "string", "description": "`/problems/<slug>`, e.g. `/problems/validation-error`."},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status, again."},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The path asked for."},
        "errors": {
            "type": "object",
            "description": "On invalid input: field name (dotted for nested fields) to its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}

RETRY_AFTER = {"Retry-After": {"description": _("Seconds to wait before trying again."),
                               "schema": {"type": "integer", "minimum": 1}}}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": _("The scheme to authenticate with (Bearer)."),
                                         "schema": {"type": "string"}}}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema class with the project's conventions (this module's docstring)."""

    def get_serializer_name(self, serializer, direction):
        """A serializer's component. Serializers are named for their direction
        (docs/architecture.md, "Serializers"): an answer `<Thing>Output` is published as
        `<Thing>`, as it was before the names said it; an input keeps its name
        (`<Thing>Input`, to which drf-spectacular adds `Request`). A component declared by an
        event schema (PayloadOutput), or one named with extend_schema_serializer, keeps its own."""
        name = super().get_serializer_name(serializer, direction)
        return name.removesuffix("Output") or name

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        # After every @extend_schema layer has added its parameters (a class's come last).
        parameters = [parameter for parameter in operation.get("parameters", [])
                      if parameter["in"] != "path" or f"{{{parameter['name']}}}" in path]
        if parameters:
            operation["parameters"] = parameters
        else:
            operation.pop("parameters", None)
        responses = operation["responses"]
        for code, response in responses.items():
            if int(code) >= 400:
                response["content"] = self._problem_content()
                response["description"] = response.get("description") or DESCRIPTIONS.get(code, "")
        for code, headers, applies in PROBLEMS:
            if code not in responses and applies(self, operation):
                responses[code] = {"description": DESCRIPTIONS[code], "content": self._problem_content(), **headers}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictInput) and schema.get("type") == "object":
            schema["additionalProperties"] = False
        return schema

    def _problem_content(self) -> dict:
        component = ResolvedComponent(
            name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=PROBLEM_SCHEMA
        )
        self.registry.register_on_missing(component)
        return {PROBLEM_CONTENT_TYPE: {"schema": component.ref}}


# --- answers declared as event schemas ----------------------------------------------------------


class PayloadOutput(serializers.Serializer):
    """The documentation of an answer whose shape is declared by an event schema: a subclass
    names it in `payload`, and its OpenAPI component, under the subclass's name, is derived from
    that schema (PayloadOutputExtension). It has no fields of its own, so it cannot say anything
    the schema does not; views answer the payload functions' dicts, which the events carry."""

    payload: ClassVar[type[Payload]]


class PayloadOutputExtension(OpenApiSerializerExtension):
    target_class = PayloadOutput
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        # Its own name, Output included: the nested models' components are <Name>Output too.
        return type(self.target).__name__

    def get_identity(self, auto_schema, direction):
        # The model, so that two answers declared by one model (an answer of its own, or a part
        # of another's) are one component, not a collision.
        return type(self.target).payload

    def map_serializer(self, auto_schema, direction):
        return payload_schema(type(self.target).payload, auto_schema.registry)


def payload_schema(model: type[Payload], registry) -> dict:
    """`model`'s JSON Schema (pydantic's) as an OpenAPI 3.0 schema: each nested model its own
    component (`<Name>Output`), `X | None` as `nullable`, `choices_of` as the column's choices
    (an enum, named as drf-spectacular names every enum), titles dropped. The sensitive fields
    are not required: an answer leaves them out for whoever may not have them
    (sharing.visibility.redact)."""
    nested = _models_within(model)
    names = {name: _component_name(nested_model) for name, nested_model in nested.items()}
    schema = model.model_json_schema(ref_template=f"{REF}{{model}}")
    for name, definition in schema.pop("$defs", {}).items():
        registry.register_on_missing(ResolvedComponent(
            name=names[name], type=ResolvedComponent.SCHEMA, object=nested[name],
            schema=_openapi(definition, names),
        ))
    schema = _openapi(schema, names)
    required = [name for name in schema.get("required", []) if name not in SENSITIVE_FIELDS]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


REF = "#/components/schemas/"


def _component_name(model: type[Payload]) -> str:
    """A nested model's component: the PayloadOutput that names the model, when one does (the
    joint report's `reports` are SitrepOutput, as the sitrep endpoints answer), else
    `<Name>Output`. One model, one component."""
    pending = list(PayloadOutput.__subclasses__())
    while pending:
        output = pending.pop()
        if output.__dict__.get("payload") is model:
            return output.__name__
        pending.extend(output.__subclasses__())
    return f"{model.__name__}Output"


def _models_within(model: type[Payload]) -> dict[str, type[Payload]]:
    """The models `model`'s fields hold, at any depth, by name (pydantic's `$defs` keys)."""
    found: dict[str, type[Payload]] = {}
    pending = [field.annotation for field in model.model_fields.values()]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, Payload):
            if annotation.__name__ not in found:
                found[annotation.__name__] = annotation
                pending.extend(field.annotation for field in annotation.model_fields.values())
        else:
            pending.extend(get_args(annotation))
    return found


def _openapi(node: Any, names: dict[str, str]) -> Any:
    """pydantic's JSON Schema `node` in OpenAPI 3.0's words; `names`: each nested model's component."""
    if isinstance(node, list):
        return [_openapi(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: ({name: _openapi(schema, names) for name, schema in value.items()} if key == "properties"
                  else REF + names[value.removeprefix(REF)] if key == "$ref"
                  else _openapi(value, names))
            for key, value in node.items() if key != "title"}  # a schema's title, not a property's
    if "x-choices-of" in node:
        model, field = node.pop("x-choices-of").rsplit(".", 1)
        choices = apps.get_model(model)._meta.get_field(field).choices
        node = {**node, **build_choice_field(serializers.ChoiceField(choices=choices))}
    alternatives = node.get("anyOf", [])
    if {"type": "null"} in alternatives:
        rest = [alternative for alternative in alternatives if alternative != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:  # OpenAPI 3.0 ignores a $ref's siblings
            node.update({"allOf": rest, "nullable": True})
        elif len(rest) == 1 and "type" in rest[0]:
            node.update({**rest[0], "nullable": True})
        else:  # `nullable` qualifies a `type` only: beside a oneOf it would let no null through
            node["anyOf"] = [*rest, NULL]
    return node


NULL = {"type": "object", "nullable": True, "enum": [None]}  # OpenAPI 3.0 has no type null


# --- what an operation is ------------------------------------------------------------------------


def needs_credentials(schema: AutoSchema, operation: dict) -> bool:
    return any(requirement for requirement in operation.get("security", [{}]))


def takes_body(schema: AutoSchema, operation: dict) -> bool:
    return "requestBody" in operation


def takes_input(schema: AutoSchema, operation: dict) -> bool:
    return takes_body(schema, operation) or any(
        parameter["in"] in ("query", "header") for parameter in operation.get("parameters", [])
    )


def names_an_object_or_pages_by_number(schema: AutoSchema, operation: dict) -> bool:
    # A page number past the last page is a 404 too (DRF's PageNumberPagination).
    if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
        return True
    return schema._is_list_view() and isinstance(schema._get_paginator(), PageNumberPagination)


def negotiates(schema: AutoSchema, operation: dict) -> bool:
    # The CAP import answers JSON whatever a sender's Accept says (incidents.alerts.api.views).
    return type(schema.view).perform_content_negotiation is APIView.perform_content_negotiation


def throttled(schema: AutoSchema, operation: dict) -> bool:
    # Bad credentials are counted per address too (coordination.authentication).
    return bool(schema.view.get_throttles()) or needs_credentials(schema, operation)


def always(schema: AutoSchema, operation: dict) -> bool:
    return True


Applies = Callable[[AutoSchema, dict], bool]

DESCRIPTIONS = {
    "400": _("Invalid input: the problem's `errors` names each field (an unknown field too) or parameter."),
    "401": _("No valid credentials."),
    "403": _("The caller's role or scopes do not allow this, or it may see the object but not act on it."),
    "404": _("Not found, or not visible to the caller (the two answer alike); or a page past the last."),
    "406": _("None of the media types in Accept can be given."),
    "409": _("The object's state does not allow this now (a stale If-Match, a step out of order, a quantity "
             "no longer available); the problem says what would."),
    "413": _("The body is over the limit."),
    "415": _("A Content-Type this operation does not read."),
    "429": _("Past a rate limit."),
    "503": _("The database is unavailable; retry shortly."),
}

# status, response headers, which operations can give it.
PROBLEMS: list[tuple[str, dict, Applies]] = [
    ("400", {}, takes_input),
    ("401", {"headers": WWW_AUTHENTICATE}, needs_credentials),
    ("403", {}, needs_credentials),
    ("404", {}, names_an_object_or_pages_by_number),
    ("406", {}, negotiates),
    ("413", {}, takes_body),
    ("415", {}, takes_body),
    ("429", {"headers": RETRY_AFTER}, throttled),
    ("503", {"headers": RETRY_AFTER}, always),
]
