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
