from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health, metrics
from config.problems import problem_response
from coordination.notify import views as ack_views

api_v1 = [
    path("", include("coordination.api.urls")),
    path("", include("coordination.duty.api.urls")),
    path("", include("coordination.people.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("incidents.alerts.api.urls")),
    path("", include("sharing.api.agreement_urls")),
    path("", include("sharing.api.exchange_urls")),
    path("", include("sharing.mutualaid.api.urls")),
    path("", include("coordination.workflows.api.urls")),
    path("", include("coordination.notify.api.urls")),
]


# CSRF-exempt like every API view: it changes nothing, and a session's POST to a path that is not
# there must get this problem, not Django's HTML page for a failed CSRF check.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return problem_response(
        request, status_code=404, title="Not found", detail=f"No API endpoint at {request.path}.", slug="not-found"
    )


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus, with METRICS_TOKEN
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("feeds/", include("incidents.alerts.urls")),  # public, no authentication
    path("ack/<str:token>/", ack_views.acknowledge, name="notify-ack"),  # the signed link is the credential
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script at ?script and its styles in a file: nothing inline,
    # so the pages' Content-Security-Policy holds here too (config.middleware).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="ui/api_docs.html"),
         name="api-docs"),
    # Anything else under /api/ is a problem-details 404, in DEBUG too.
    re_path(r"^api/", api_not_found),
    path("", include("ui.urls")),  # the web UI: "/" is the dashboard, "/login/", "/i18n/"
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return problem_response(
            request, status_code=500, title="Internal error",
            detail="Something went wrong on our side; it has been logged.", slug="internal-error",
        )
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        return problem_response(request, status_code=400, title="Bad request", detail=str(exception or ""),
                                slug="bad-request")
    from django.views.defaults import bad_request

    return bad_request(request, exception)
