"""`/ack/<token>/`: acknowledging from the message (docs/notifications.md, "Acknowledgement links").

The signed link is the credential: the officer it was sent to need not be logged in. GET shows
the incident, what is asked and one form, and changes nothing but the row's `opened_at` (link
previews and mail scanners only GET, so they never acknowledge); POST acknowledges as that
officer for the jurisdiction it was sent for, through the same service as the API and the UI
(coordination.workflows.services.acknowledgements.acknowledgement_acknowledge), and uses the link up. The view is
exempt from CSRF (there is no session to ride on: the token in the path is what a forger would
need) and rate limited per address.
"""

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.errors import ApplicationError, Conflict, ValidationFailed
from coordination.authentication import client_ip, principal_for_user
from coordination.notify import rendering
from coordination.notify.lifecycle import State
from coordination.notify.links import LINK_MAX_AGE, notification_id_from
from coordination.notify.models import Notification
from coordination.notify.services import notification_acknowledged, notification_opened
from coordination.throttling import window_hit
from coordination.workflows.models import Acknowledgement, AckStatus
from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

COMMENT_MAX = Acknowledgement._meta.get_field("comment").max_length
RATE_LIMIT = (30, 60)  # requests per address and minute: a person clicks once or twice


def _language(request, row: Notification | None) -> str:
    """The page speaks the reader's language: the one the UI's switch chose (its cookie), else
    the one the message is written in (the recipient's choice, else their jurisdiction's)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in rendering.LANGUAGES:
        return chosen
    if row is not None:
        return rendering.language_of_row(row)
    return translation.get_language() or settings.LANGUAGE_CODE


def _page(request, row, template_context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, "notify/ack.html", template_context, status=status)
    # The token is in the path: no referrer carries it elsewhere, no cache or index keeps it.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refusal(row: Notification | None, ack: Acknowledgement | None) -> str | None:
    """Why this link can no longer be used ("used", "answered", "withdrawn", "expired"), or None."""
    if row is None or ack is None:
        return "invalid"
    if row.state == State.ACKNOWLEDGED:
        return "used"
    if ack.status == AckStatus.ACKNOWLEDGED:
        return "answered"
    if ack.status == AckStatus.CANCELLED or row.state == State.CANCELLED:
        return "withdrawn"
    if timezone.now() > row.queued_at + LINK_MAX_AGE:
        return "expired"
    return None


def _context(row: Notification, language: str, **extra) -> dict:
    context = rendering.context_for(row, language=language)
    return {"row": row, "message": context, "comment_max": COMMENT_MAX, **extra}


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def acknowledge(request, token: str):
    if window_hit(f"notify_ack_{client_ip(request) or 'unknown'}", limit=RATE_LIMIT[0], period=RATE_LIMIT[1]):
        with translation.override(_language(request, None)):
            return _page(request, None, {"refusal": "throttled"}, status=429)
    pk = notification_id_from(token)
    row = (Notification.objects.select_related("incident", "acknowledgement", "recipient").filter(pk=pk).first()
           if pk is not None else None)
    language = _language(request, row)
    with translation.override(language):
        refusal = _refusal(row, row.acknowledgement if row is not None else None)
        if refusal == "invalid":
            return _page(request, None, {"refusal": refusal}, status=404)
        if refusal:
            return _page(request, row, _context(row, language, refusal=refusal), status=410 if refusal in (
                "used", "expired") else 200)
        if request.method == "GET":
            notification_opened(notification=row)
            return _page(request, row, _context(row, language))
        return _post(request, row, language)


def _post(request, row: Notification, language: str) -> HttpResponse:
    comment = (request.POST.get("comment") or "").strip()
    if len(comment) > COMMENT_MAX:
        return _page(request, row, _context(row, language, comment=comment, error=_(
            "A comment is at most %(limit)s characters.") % {"limit": COMMENT_MAX}), status=400)
    principal = principal_for_user(row.recipient)
    # Sent for a jurisdiction: its officer answers for it. Sent for a body: the service checks that
    # the officer still sits on the body it was escalated to.
    moved = row.jurisdiction_id is not None and principal is not None and principal.jurisdiction != row.jurisdiction_id
    if principal is None or not row.recipient.is_active or moved:
        return _page(request, row, _context(row, language, refusal="not_officer"), status=403)
    try:
        with transaction.atomic():
            if not notification_acknowledged(notification=row):
                return _page(request, row, _context(row, language, refusal="used"), status=410)
            ack = acknowledgement_acknowledge(actor=principal.with_ip(client_ip(request)),
                                              acknowledgement_id=row.acknowledgement_id, comment=comment)
    except ValidationFailed:
        return _page(request, row, _context(row, language, comment=comment, error=_(
            "The comment could not be taken; shorten it and try again.")), status=400)
    except Conflict:
        return _page(request, row, _context(row, language, refusal="withdrawn"), status=409)
    except ApplicationError as exc:
        # Not allowed (a viewer's role, an officer moved to another jurisdiction) or gone: the
        # service's own words are English for API clients; the page says it in the reader's.
        return _page(request, row, _context(row, language, refusal="refused"), status=exc.status)
    return _page(request, row, _context(row, language, done=True, acknowledged_at=rendering.moment(
        ack.acknowledged_at, zone=rendering.registry().zone(row.incident.cluster_id), language=language)))
