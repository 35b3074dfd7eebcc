"""Reads of alerts: what a principal may see of them (the visibility rule), and the public feed.

Alerts are judged by the one rule in sharing.visibility: owned by the jurisdiction that
imported or issued them, concerning the jurisdictions their areas touch, at the level and
category read from CAP severity and category (incidents.alerts.mapping) or, for an alert
issued from an incident, the incident's. Their data kind (`alert_data_kind`) says which part
of the rule applies, the same on every path (list, detail, CAP export, event log, stream):

- a public alert (CAP <scope> Public and <status> Actual, what the public feed publishes) is
  for anyone: every authenticated principal sees it, in any cluster; one who sees it only
  because it is public gets what a stranger gets (the sensitive fields withheld);
- a draft (issued from an incident, not approved yet) is seen by its owner alone;
- any other alert (Restricted, Private, an exercise or a test) is incident data.
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
from incidents.lifecycle import OPEN_STATUSES
from sharing.models import DataKind, PublicationKind
from sharing.visibility import (
    PUBLIC_GRANT,
    Decision,
    Facts,
    SharingContext,
    Viewer,
    decide,
    sharing_context,
    visible_q,
)

PUBLIC_SCOPE = "Public"
PUBLIC_STATUS = "Actual"
# What the public feed gives anyone (no credentials): a stranger's view.
PUBLIC_DECISION = Decision(True, PUBLIC_GRANT.withheld, PUBLIC_GRANT.basis)
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


def is_public(*, scope: str, status: str) -> bool:
    return scope == PUBLIC_SCOPE and status == PUBLIC_STATUS


def alert_data_kind(alert: Alert) -> str:
    """How the visibility rule judges the alert (the module docstring): for its events too."""
    if alert.state == AlertState.DRAFT:
        return PublicationKind.DRAFTS
    if is_public(scope=alert.scope, status=alert.status):
        return PublicationKind.PUBLIC_ALERTS
    return DataKind.INCIDENTS


def alert_facts(alert: Alert) -> Facts:
    return Facts(
        data_kind=alert_data_kind(alert),
        owner=alert.owner_id,
        cluster=alert.cluster_id or "",
        jurisdictions=frozenset(link.jurisdiction_id for link in alert.affected.all()),
        level=alert.level,
        category=alert.category,
    )


def alert_decision(*, viewer: Viewer, alert: Alert, ctx: SharingContext | None = None) -> Decision:
    return decide(viewer, alert_facts(alert), ctx=ctx)


def alert_visible_q(viewer: Viewer, *, ctx: SharingContext | None = None) -> Q:
    """The same rule as `alert_decision`, as a filter: each data kind's part of the rule on
    the alerts of that kind."""
    ctx = ctx or sharing_context()
    concerned = Q(pk__in=AlertJurisdiction.objects.filter(jurisdiction_id=viewer.jurisdiction).values("alert_id"))
    draft = Q(state=AlertState.DRAFT)
    public = ~draft & Q(scope=PUBLIC_SCOPE, status=PUBLIC_STATUS)
    kinds = [(PublicationKind.DRAFTS, draft), (PublicationKind.PUBLIC_ALERTS, public),
             (DataKind.INCIDENTS, ~draft & ~Q(scope=PUBLIC_SCOPE, status=PUBLIC_STATUS))]
    q = Q(pk__in=[])
    for kind, of_kind in kinds:
        q |= of_kind & visible_q(viewer, kind, owner="owner", concerned=concerned, level="level",
                                 category="category", ctx=ctx)
    return q


# --- reads -------------------------------------------------------------------------------------------


# Columns the JSON and the CAP export never read: the document as received, and the incident's
# own content (only its public id is shown).
_NOT_READ = ("document", "incident__description", "incident__affected_area", "incident__casualty_details",
             "incident__contacts")


def _with_content(queryset: QuerySet[Alert]) -> QuerySet[Alert]:
    """Everything an alert's JSON or CAP needs, in one query per table (the incident's public
    id by a join)."""
    return queryset.select_related("incident").defer(*_NOT_READ).prefetch_related(
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
    """Alerts for anyone: issued (never a draft), real, Public."""
    return Alert.objects.filter(scope=PUBLIC_SCOPE, status=PUBLIC_STATUS, exercise=False).exclude(
        state=AlertState.DRAFT)


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


# --- what a jurisdiction owes (the duty officer's inbox, ui.inbox) ---------------------------------


def alert_drafts_awaiting_approval(*, principal) -> QuerySet[Alert]:
    """Drafts of the caller's jurisdiction on incidents still open, which a commander of it has
    to approve before they are issued (a draft is its owner's alone; on a closed incident it can
    no longer be approved); oldest first, with their info blocks (the headline)."""
    viewer = Viewer.of(principal)
    return (Alert.objects.filter(alert_visible_q(viewer), state=AlertState.DRAFT, owner_id=viewer.jurisdiction,
                                 incident__isnull=False, incident__status__in=OPEN_STATUSES)
            .select_related("incident").defer(*_NOT_READ).prefetch_related("infos")
            .order_by("received_at", "id"))
