"""Reads of alerts: what a principal may see of them (the visibility rule), and the public feed.

Alerts are judged by the one rule in sharing.visibility as data of kind "incidents": owned by
the jurisdiction that imported them, concerning the jurisdictions their areas touch, at the
level and category read from CAP severity and category (incidents.alerts.mapping).

One widening, because CAP says so: an alert whose <scope> is Public is meant for anyone, so
every authenticated principal sees it, in any cluster. A viewer who sees it only because it
is public gets what a stranger gets (the public feed's view): the sensitive fields withheld.
Restricted and Private alerts follow the rule alone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from config.errors import NotFound
from incidents.alerts import cap
from incidents.alerts.convert import cap_alert
from incidents.alerts.models import Alert, AlertInfo, AlertJurisdiction, AlertState
from sharing.models import DataKind
from sharing.visibility import (
    SENSITIVE_FIELDS,
    Decision,
    Facts,
    SharingContext,
    Viewer,
    decide,
    sharing_context,
    visible_q,
)

PUBLIC_SCOPE = "Public"
PUBLIC_DECISION = Decision(True, SENSITIVE_FIELDS, "public")
# The public feed shows active alerts that are real (CAP status Actual) and for anyone.
FEED_MAX_ENTRIES = 200


@dataclass(frozen=True)
class AlertView:
    """An alert as one viewer may see it: the row, the CAP message less the withheld fields."""

    alert: Alert
    message: cap.Alert
    withheld: frozenset[str]
    state: str


# --- state -----------------------------------------------------------------------------------------


def state_q(state: str, *, now: datetime | None = None) -> Q:
    """Alerts in a state as the API shows it (expired is an active alert past its expiry)."""
    now = now or timezone.now()
    if state == AlertState.EXPIRED:
        return Q(state=AlertState.ACTIVE, expires__lte=now)
    if state == AlertState.ACTIVE:
        return Q(state=AlertState.ACTIVE) & (Q(expires__isnull=True) | Q(expires__gt=now))
    return Q(state=state)


def effective_state(alert: Alert, *, now: datetime | None = None) -> str:
    if alert.state == AlertState.ACTIVE and alert.expires is not None and alert.expires <= (now or timezone.now()):
        return AlertState.EXPIRED
    return alert.state


# --- visibility --------------------------------------------------------------------------------------


def alert_facts(alert: Alert) -> Facts:
    return Facts(
        data_kind=DataKind.INCIDENTS,
        owner=alert.owner_id,
        cluster=alert.cluster_id or "",
        jurisdictions=frozenset(link.jurisdiction_id for link in alert.affected.all()),
        level=alert.level,
        category=alert.category,
    )


def alert_decision(*, viewer: Viewer, alert: Alert, ctx: SharingContext | None = None) -> Decision:
    decision = decide(viewer, alert_facts(alert), ctx=ctx)
    if decision or alert.scope != PUBLIC_SCOPE:
        return decision
    return PUBLIC_DECISION


def alert_visible_q(viewer: Viewer, *, ctx: SharingContext | None = None) -> Q:
    """The same rule as `alert_decision`, as a filter."""
    concerned = Q(pk__in=AlertJurisdiction.objects.filter(jurisdiction_id=viewer.jurisdiction).values("alert_id"))
    rule = visible_q(viewer, DataKind.INCIDENTS, owner="owner", concerned=concerned, level="level",
                     category="category", ctx=ctx)
    return rule | Q(scope=PUBLIC_SCOPE)


# --- reads -------------------------------------------------------------------------------------------


def _with_content(queryset: QuerySet[Alert]) -> QuerySet[Alert]:
    """Everything an alert's JSON or CAP needs, in one query per table."""
    return queryset.defer("document").prefetch_related(
        Prefetch("infos", queryset=AlertInfo.objects.prefetch_related("resources", "areas")),
        "references",
        "affected",
        Prefetch("supersedes", queryset=Alert.objects.only("id", "superseded_by").order_by("id")),
    )


def alert_list_visible_to(*, principal) -> QuerySet[Alert]:
    viewer = Viewer.of(principal)
    return _with_content(Alert.objects.filter(alert_visible_q(viewer)))


def alert_views(*, principal, alerts: Iterable[Alert]) -> list[AlertView]:
    """The alerts (from alert_list_visible_to) as the principal may see each."""
    viewer, ctx, now = Viewer.of(principal), sharing_context(), timezone.now()
    views = []
    for alert in alerts:
        decision = alert_decision(viewer=viewer, alert=alert, ctx=ctx)
        if decision:
            views.append(_view(alert, decision, now=now))
    return views


def _view(alert: Alert, decision: Decision, *, now: datetime | None = None) -> AlertView:
    return AlertView(alert, cap_alert(alert, withheld=decision.withheld), decision.withheld,
                     effective_state(alert, now=now))


def alert_get_visible_to(*, principal, alert_id) -> AlertView:
    """One alert as the principal may see it; NotFound when it may not (existence not revealed)."""
    alert = _with_content(Alert.objects.filter(pk=alert_id)).first()
    if alert is not None:
        decision = alert_decision(viewer=Viewer.of(principal), alert=alert)
        if decision:
            return _view(alert, decision)
    raise NotFound(f"No alert {alert_id}.")


def alert_cap_document(*, principal, alert_id) -> bytes:
    """GET /api/v1/alerts/{id}/cap/: the CAP 1.2 document the principal may see."""
    return cap.render_cap(alert_get_visible_to(principal=principal, alert_id=alert_id).message)


# --- the public feed (no authentication) -----------------------------------------------------------


def _public() -> QuerySet[Alert]:
    return Alert.objects.filter(scope=PUBLIC_SCOPE, status="Actual", exercise=False)


def alert_public_feed(*, limit: int = FEED_MAX_ENTRIES) -> QuerySet[Alert]:
    """Active, real, public alerts, newest first, with their info blocks (not their areas:
    an entry is a headline and a link): GET /feeds/alerts.atom."""
    return (
        _public().filter(state_q(AlertState.ACTIVE)).defer("document").prefetch_related("infos")
        .order_by("-sent", "id")[:limit]
    )


def alert_public_document(*, alert_id) -> bytes:
    """A public alert's CAP document, for anyone (the feed links here). Served whatever its
    state, so a reader who follows a link after a cancellation learns what was cancelled."""
    alert = _with_content(_public().filter(pk=alert_id)).first()
    if alert is None:
        raise NotFound(f"No public alert {alert_id}.")
    return cap.render_cap(_view(alert, PUBLIC_DECISION).message)
