from django.conf import settings

from config.problems import problem_response


class BodySizeLimitMiddleware:
    """Refuse an announced body larger than any endpoint accepts before reading a byte.

    Endpoints then apply their own, smaller limit while reading (config.problems.LimitedJSONParser),
    which also covers chunked bodies that announce no length.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                announced = int(length)
            except ValueError:
                return problem_response(
                    request, status_code=400, title="Bad request", detail="Content-Length is not a number.",
                    slug="bad-request",
                )
            limit = max(settings.MAX_BODY_BYTES, settings.MAX_BULK_BODY_BYTES)
            if announced > limit:
                return problem_response(
                    request, status_code=413, title="Request body too large",
                    detail=f"The body is larger than {limit} bytes.", slug="payload-too-large",
                )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """The Content-Security-Policy header of every HTML page (the web UI, the admin, the API's
    browsable docs, error pages), from SECURE_CSP: scripts, styles and connections from this
    site only, no inline script or style, no frames of us anywhere.

    Our own because it is this small: one fixed header, no nonces (nothing inline is left to
    allow), and the setting has the name and shape of Django 6.0's, whose middleware
    (django.middleware.csp) replaces this one on that upgrade. A view that needs a policy of
    its own (the printable situation report) sets the header itself and keeps it.
    Other responses (JSON, XML, files) are not documents a browser runs and get none.
    """

    HEADER = "Content-Security-Policy"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self.HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[self.HEADER] = content_security_policy(settings.SECURE_CSP)
        return response


def content_security_policy(directives: dict[str, list[str]]) -> str:
    """`{"default-src": ["'self'"], …}` as the header's value."""
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())
