"""The application's error hierarchy.

Services raise these; the API turns each into RFC 9457 problem details
(config/problems.py), the web UI into a message. A service never returns an HTTP status of
its own making, and a view never invents an error body.
"""


# RFC 9457's own members, and ours for validation failures: an extension member of the same
# name would overwrite them (a 409 once said `"status": "reported"`, the incident's status,
# where the HTTP code belongs). Facts about the object go under names of their own
# (`current_status`, `allowed`, …).
RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "errors"})


def extension_members(extra: dict) -> dict:
    """`extra`, refused (TypeError, a programming error) if a name collides with RESERVED_MEMBERS."""
    clashing = RESERVED_MEMBERS.intersection(extra)
    if clashing:
        raise TypeError(f"problem details extension members {sorted(clashing)} collide with RFC 9457's; "
                        "name the fact after what it is (e.g. current_status)")
    return extra


class ApplicationError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", *, errors: dict[str, list[str]] | None = None, **extra):
        # Checked where the error is raised, not only where the API renders it (problem_body):
        # a raise site whose extra members would overwrite RFC 9457's fails in any test that
        # reaches it, through the API, the web UI or a service called directly.
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extension_members(extra)


class ValidationFailed(ApplicationError):
    status = 400
    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def on(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", errors={field: [message]})


class AuthenticationFailed(ApplicationError):
    status = 401
    slug = "not-authenticated"
    title = "Authentication failed"


class PermissionDenied(ApplicationError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(ApplicationError):
    """Also what a caller gets for something it may not see: existence is not revealed."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ApplicationError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(ApplicationError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class ServiceUnavailable(ApplicationError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"
