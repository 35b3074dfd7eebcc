"""Who is looking at a page, and the frame every page is drawn in.

Every UI view is wrapped in `officer_view`: a logged-in user with a membership (an officer),
as a Principal, the same object the API's services and selectors take. The page is drawn in
the officer's cluster's time zone, and an error a service raises becomes the page a browser
expects (404 for what the officer may not see, 403 for what it may not do).
"""

import functools
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import NotFound, PermissionDenied
from coordination.authentication import client_ip, principal_for_user
from coordination.models import Role
from coordination.principals import Principal
from coordination.roles import Action
from incidents.payloads import cluster_zone
from sharing.eventlog import newest_seq
from ui import registry
from ui.conf import map_tile_attribution, map_tile_url
from ui.inbox import inbox_items
from ui.labels import SCRIPT_WORDS

NAV = (
    ("dashboard", _("Dashboard")),
    ("incidents", _("Incidents")),
    ("report", _("Report an incident")),
    ("resources", _("Resources and mutual aid")),
    ("command", _("Joint command and meetings")),
    ("agreements", _("Sharing agreements")),
    ("alerts", _("Alerts")),
)


def officer_view(view):
    """A view for officers: login required, a Principal on `request.principal`, the cluster's
    time zone active while the page is drawn, and service errors turned into pages."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if is_htmx(request):
                # A fragment asked for after the session ended: the whole page goes to the login.
                page_url = urlsplit(request.headers.get("HX-Current-URL", "/"))
                back = page_url.path + (f"?{page_url.query}" if page_url.query else "")
                return HttpResponse(headers={"HX-Redirect": redirect_to_login(back)["Location"]})
            return redirect_to_login(request.get_full_path())
        principal = principal_for_user(request.user)
        if principal is None:
            return render(request, "ui/not_officer.html", status=403)
        request.principal = principal.with_ip(client_ip(request))
        cluster = registry.home_cluster(principal)
        with timezone.override(cluster_zone(cluster.code if cluster else None)):
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404() from None
            except PermissionDenied as exc:
                return render(request, "ui/forbidden.html", {**frame(request), "detail": exc.detail}, status=403)

    return wrapped


def frame(request: HttpRequest, *, active: str = "", inbox: list | None = None) -> dict:
    """What the page frame (ui/base.html) shows: who is on duty, where, when, and the menu.
    `inbox`: the page's own inbox when it shows one (the dashboard), so it is read once."""
    principal: Principal = request.principal
    cluster = registry.home_cluster(principal)
    can = permissions(principal)
    now = timezone.localtime()
    offset = now.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    minutes = int(abs(offset.total_seconds()) % 3600 // 60) if offset is not None else 0
    return {
        "principal": principal,
        "me": registry.place(principal.jurisdiction),
        "role_label": Role(principal.role).label,
        "cluster": cluster,
        "time_zone": timezone.get_current_timezone_name(),
        "utc_offset": f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else ""),
        "nav": [(name, label, reverse(f"ui:{name}"), name == active) for name, label in NAV
                if name != "report" or can["report"]],
        "can": can,
        "script_words": {key: str(word) for key, word in SCRIPT_WORDS.items()},
        "stream_since": newest_seq(),
        "map_tiles": {"url": map_tile_url(), "attribution": map_tile_attribution()},
        "server_now": now,
        # The menu's count of what we owe (ui.inbox), on every page: the officer sees it grow anywhere.
        "inbox_count": len(inbox if inbox is not None else inbox_items(principal=principal)),
    }


def basics(request: HttpRequest) -> dict:
    """What a fragment needs of the frame: who is looking and what they may do."""
    return {"principal": request.principal, "can": permissions(request.principal), "fragment": True}


def permissions(principal: Principal) -> dict[str, bool]:
    """The role-level checks the templates use to leave out controls (the services check
    again, with the object in hand, whatever a page shows)."""
    return {
        "report": principal.can(Action.REPORT_INCIDENT),
        "transition": principal.can(Action.TRANSITION_INCIDENT),
        "acknowledge": principal.can(Action.ACKNOWLEDGE),
        "write_resources": principal.can(Action.WRITE_RESOURCES),
        "accept_offers": principal.can(Action.ACCEPT_OFFERS),
        "manage_sharing": principal.can(Action.MANAGE_SHARING),
        "joint_command": principal.can(Action.MANAGE_JOINT_COMMAND),
        "draft_alert": principal.can(Action.DRAFT_ALERT),
        "approve_alert": principal.can(Action.APPROVE_ALERT),
        "control_workflows": principal.can(Action.CONTROL_WORKFLOWS),
    }


def page(request: HttpRequest, template: str, context: dict | None = None, *, active: str = "",
         status: int = 200) -> HttpResponse:
    context = context or {}
    return render(request, template, {**frame(request, active=active, inbox=context.get("inbox")), **context},
                  status=status)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"

