"""The application's error hierarchy.

Services raise these; the API turns each into RFC 9457 problem details
(config/problems.py), the web UI into a message. A service never returns an HTTP status of
its own making, and a view never invents an error body.
"""


class ApplicationError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", *, errors: dict[str, list[str]] | None = None, **extra):
        # Checked where the error is raised, not only where the API renders it: a raise site
        # whose extra members would overwrite RFC 9457's fails in any test that reaches it,
        # through the API, the web UI or a service called directly.
        from config.problems import extension_members

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
