"""The OpenAPI document the service serves (/api/schema/) is valid OpenAPI 3.0, in YAML and in
JSON, and keeps the conventions of config/schema.py (docs/schema.md). What the API answers
against it is checked by tests/attack/test_schema_fuzz.py."""

import json

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

OPERATIONS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def document(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in OPERATIONS:
                yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("query, accept, parse", [
    ({}, "*/*", yaml.safe_load),  # the default: YAML
    ({"format": "json"}, "*/*", json.loads),
    ({}, "application/vnd.oai.openapi+json", json.loads),
])
def test_the_served_document_is_valid_openapi(client, query, accept, parse):
    response = client.get("/api/schema/", query, HTTP_ACCEPT=accept)
    assert response.status_code == 200
    document = parse(response.content)
    validate(document)  # raises, naming the first error, if the document is not valid OpenAPI
    assert document["openapi"].startswith("3.0")
    assert len(list(operations(document))) >= 85  # over 90: none went missing


def test_a_path_parameter_is_documented_only_where_the_path_has_it(document):
    for label, operation in operations(document):
        path = label.split(" ", 1)[1]
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert f"{{{parameter['name']}}}" in path, (label, parameter["name"])


def test_every_error_answer_is_documented_as_problem_details(document):
    assert {"type", "title", "status", "detail"} <= set(document["components"]["schemas"]["Problem"]["required"])
    for label, operation in operations(document):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (label, code)
                assert response["description"], (label, code)


def test_the_problems_any_operation_can_give_are_documented_where_it_can_give_them(document):
    for label, operation in operations(document):
        codes = set(operation["responses"])
        assert {"429", "503"} <= codes, label
        if any(requirement for requirement in operation.get("security", [{}])):
            assert {"401", "403"} <= codes, label
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, label
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
            assert "404" in codes, label
        if label != "POST /api/v1/cap/":  # answers JSON whatever Accept says
            assert "406" in codes, label
    assert {"400", "401", "429"} <= set(dict(operations(document))["POST /api/v1/auth/token/"]["responses"])


def test_request_bodies_that_refuse_unknown_fields_say_so(document, api_as):
    from tests.conftest import SHENZHEN

    schemas = document["components"]["schemas"]
    for name in ("IncidentInputRequest", "LocationInputRequest", "PatchedIncidentChangeInputRequest",
                 "OfferInputRequest", "AgreementInputRequest", "SubscriptionInputRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    # ...as the server does.
    response = api_as(SHENZHEN).post("/api/v1/incidents/", {"title": "x", "colour": "red"}, format="json")
    assert response.status_code == 400 and "colour" in response.json()["errors"]
    # What takes any field says nothing of the kind (the login reads two and ignores the rest).
    assert "additionalProperties" not in schemas["TokenRequestRequest"]
