"""RFC 9457 problem details for every error the API gives, and the JSON body reader.

Every error path of the API ends here: DRF's exceptions, our ApplicationError hierarchy,
Django's own 404/500 for /api/ paths (config/urls.py), oversized bodies and a database that
is down. An API client never sees an HTML error page.
"""

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from config import errors
from config.renderers import FastJSONRenderer

logger = logging.getLogger("liandong.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
_PROBLEM_RENDERER = FastJSONRenderer()

def problem_body(*, status_code: int, title: str, detail: str, slug: str, errors_: dict | None = None, **extra):
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors_:
        body["errors"] = errors_
    body.update(errors.extension_members(extra))
    return body


def problem_response(request, *, status_code: int, title: str, detail: str, slug: str, errors_=None, **extra):
    """A problem response for plain Django views (no DRF negotiation involved)."""
    body = problem_body(status_code=status_code, title=title, detail=detail, slug=slug, errors_=errors_, **extra)
    if request is not None:
        body.setdefault("instance", request.path)
    return JsonResponse(
        body, status=status_code, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )


def _field_errors(data) -> dict[str, list[str]]:
    """DRF's nested error structures flattened into `field -> [messages]` (dotted paths)."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(item, (dict, list)) for item in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in value)
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", data)
    return flat


def _summary(field_errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in field_errors.items())


def problem_exception_handler(exc, context):
    request = context.get("request")
    headers = {}

    if isinstance(exc, errors.ApplicationError):
        body = problem_body(
            status_code=exc.status, title=exc.title, detail=exc.detail, slug=exc.slug, errors_=exc.errors, **exc.extra
        )
        code = exc.status
    elif isinstance(exc, exceptions.ValidationError):
        field_errors = _field_errors(exc.detail)
        code = status.HTTP_400_BAD_REQUEST
        body = problem_body(
            status_code=code, title="Invalid input", detail=_summary(field_errors), slug="validation-error",
            errors_=field_errors,
        )
    elif isinstance(exc, (RequestDataTooBig,)):
        code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        body = problem_body(status_code=code, title="Request body too large", detail=str(exc), slug="payload-too-large")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away: say so and let the client retry; the pool reconnects
        # by itself once it is back (CONN_HEALTH_CHECKS).
        logger.error("database unavailable: %s", exc)
        code = status.HTTP_503_SERVICE_UNAVAILABLE
        headers["Retry-After"] = "5"
        body = problem_body(
            status_code=code, title="Service unavailable", detail="The database is unavailable; retry shortly.",
            slug="database-unavailable",
        )
    else:
        if isinstance(exc, Http404):
            exc = exceptions.NotFound()
        elif isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied()
        if not isinstance(exc, exceptions.APIException):
            return None  # a real bug: Django's 500 handler answers with problem details
        code = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else _summary(_field_errors(exc.detail))
        slug = {
            401: "not-authenticated",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            406: "not-acceptable",
            415: "unsupported-media-type",
            429: "rate-limited",
        }.get(code, "bad-request")
        body = problem_body(status_code=code, title=_title_for(code), detail=str(detail), slug=slug)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header

    if request is not None:
        body.setdefault("instance", request.path)
        # A problem is JSON whatever the endpoint's own renderer writes (the schema's YAML,
        # CAP's and EDXL's XML): a 429 from /api/schema/ was YAML labelled problem+json.
        request.accepted_renderer, request.accepted_media_type = _PROBLEM_RENDERER, "application/json"
    if code >= 500 or code in (401, 403, 413, 429):
        logger.warning("%s %s -> %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"), code,
                       body.get("detail"))
    return Response(body, status=code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _title_for(code: int) -> str:
    return {
        400: "Bad request",
        401: "Authentication required",
        403: "Not allowed",
        404: "Not found",
        405: "Method not allowed",
        406: "Not acceptable",
        409: "Conflict",
        413: "Request body too large",
        415: "Unsupported media type",
        429: "Too many requests",
    }.get(code, "Error")


class LimitedJSONParser(JSONParser):
    """JSON bodies up to a limit (the view's `max_body_bytes`, else MAX_BODY_BYTES).

    The limit holds for chunked bodies too, where no Content-Length warns us in advance.
    Deeply nested documents are refused as bad input, not left to crash with RecursionError.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", None) or settings.MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise errors.PayloadTooLarge(f"The body is larger than {limit} bytes.")
        if not raw.strip():
            raise exceptions.ParseError("The request body is empty; JSON was expected.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON nested too deeply.") from exc
        except (UnicodeDecodeError, ValueError) as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
