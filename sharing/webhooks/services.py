"""Webhooks: subscriptions of API clients, deliveries written by the dispatcher, attempts,
retries and the disabling of receivers that keep failing.

A delivery's life: the dispatcher writes a `pending` row per matching subscription and event
(inside its batch transaction: a batch delivered again adds nothing) and, after the commit,
asks a worker to attempt it. A worker claims the row with a conditional UPDATE (only one can),
POSTs, and records the outcome: delivered; failed for good (a permanent error, or out of
attempts); or pending again with the next attempt after an exponential backoff with jitter.
Short waits are Celery countdowns; the periodic sweep takes whatever is due and was not taken
(a lost task, a killed worker, a wait longer than a countdown should be).
"""

import logging
import random
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import ValidationFailed
from coordination.audit import audit_record
from coordination.models import ApiClient
from coordination.principals import Principal
from coordination.roles import Action, scopes_allow
from sharing.eventlog import Subject, emit_event
from sharing.events import EVENT_SCHEMAS
from sharing.models import DataKind
from sharing.stream.filters import EventFilter
from sharing.stream.routes import Route
from sharing.webhooks import sender, signing
from sharing.webhooks.models import Delivery, DeliveryState, Subscription
from sharing.webhooks.selectors import require_client, subscription_get

logger = logging.getLogger("liandong.webhooks")

DELIVER_TASK = "sharing.webhooks.tasks.deliver"
MAX_EVENT_PATTERNS = 100
EVENT_PATTERN = re.compile(r"^[a-z][a-z_]*\.\*$")
# A claim older than this belongs to a worker that died in the middle of an attempt.
CLAIM_LEASE = timedelta(seconds=60)


# --- subscriptions ----------------------------------------------------------------------------


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationFailed.on("url", "At most 2000 characters.")
    try:
        sender.check_url(url)
    except (sender.RefusedUrl, sender.Unresolvable) as exc:
        raise ValidationFailed.on("url", f"{exc}.")
    return url


def _checked_events(events) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(name, str) for name in events):
        raise ValidationFailed.on("events", 'A non-empty list of event names, "domain.*" or "*".')
    if len(events) > MAX_EVENT_PATTERNS:
        raise ValidationFailed.on("events", f"At most {MAX_EVENT_PATTERNS} names.")
    domains = {name.split(".", 1)[0] for name in EVENT_SCHEMAS}
    unknown = [name for name in events if not (
        name == "*" or name in EVENT_SCHEMAS or (EVENT_PATTERN.match(name) and name[:-2] in domains))]
    if unknown:
        raise ValidationFailed.on("events", f"No such event: {', '.join(unknown[:5])}.")
    return sorted(set(events))


def _checked_filters(filters) -> dict:
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise ValidationFailed.on("filters", "An object: categories, level_at_least, jurisdictions.")
    unknown = sorted(set(filters) - {"categories", "level_at_least", "jurisdictions"})
    if unknown:
        raise ValidationFailed.on(f"filters.{unknown[0]}", "Unknown filter.")
    try:
        parsed = EventFilter.parse(filters)
    except ValidationFailed as exc:
        errors = {f"filters.{name}": messages for name, messages in (exc.errors or {}).items()}
        raise ValidationFailed(exc.detail, errors=errors) from None
    return {name: value for name, value in parsed.as_dict().items() if value is not None}


def subscription_create(*, actor: Principal, url: str, events: list[str], filters: dict | None = None,
                        description: str = "") -> tuple[Subscription, str]:
    """A new subscription of the caller (an API client). Returns it and its secret, which is
    shown this once (it can be rotated, never read back)."""
    require_client(actor)
    url, events, filters = _checked_url(url), _checked_events(events), _checked_filters(filters)
    with transaction.atomic():
        client = ApiClient.objects.select_for_update(no_key=True).get(pk=actor.client_id)
        if client.webhook_subscriptions.count() >= settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT:
            raise ValidationFailed.on(
                "url", f"A client has at most {settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT} subscriptions.")
        subscription = Subscription.objects.create(client=client, url=url, events=events, filters=filters,
                                                   description=description[:200], secret_salt=signing.new_salt())
        audit_record(actor=actor, action="webhook.subscribed", object_type="webhook_subscription",
                     object_id=str(subscription.pk), object_jurisdiction=actor.jurisdiction,
                     detail={"url_host": urlsplit(url).hostname, "events": events})
    return subscription, signing.secret_for(subscription.secret_salt)


def subscription_update(*, actor: Principal, subscription_id, **changes) -> Subscription:
    """Change the URL, events, filters or description; `is_active` pauses it (pending
    deliveries are cancelled) or resumes it (the failure count starts again)."""
    subscription = subscription_get(actor=actor, subscription_id=subscription_id)
    values = {}
    if "url" in changes:
        values["url"] = _checked_url(changes["url"])
    if "events" in changes:
        values["events"] = _checked_events(changes["events"])
    if "filters" in changes:
        values["filters"] = _checked_filters(changes["filters"])
    if "description" in changes:
        values["description"] = (changes["description"] or "")[:200]
    now = timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(no_key=True).get(pk=subscription.pk)
        if "is_active" in changes and bool(changes["is_active"]) != subscription.is_active:
            if changes["is_active"]:
                values.update(is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0,
                              failing_since=None)
            else:
                values.update(is_active=False, disabled_at=now, disabled_reason="paused by its client")
                _cancel_pending(subscription)
        for name, value in values.items():
            setattr(subscription, name, value)
        subscription.save()
        audit_record(actor=actor, action="webhook.updated", object_type="webhook_subscription",
                     object_id=str(subscription.pk), object_jurisdiction=actor.jurisdiction,
                     detail={"changed": sorted(values)})
    return subscription


def subscription_rotate_secret(*, actor: Principal, subscription_id) -> tuple[Subscription, str]:
    """A new secret; the old one keeps signing alongside for WEBHOOK_SECRET_GRACE_SECONDS."""
    subscription = subscription_get(actor=actor, subscription_id=subscription_id)
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(no_key=True).get(pk=subscription.pk)
        subscription.previous_secret_salt = subscription.secret_salt
        subscription.previous_secret_until = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_GRACE_SECONDS)
        subscription.secret_salt = signing.new_salt()
        subscription.save()
        audit_record(actor=actor, action="webhook.secret_rotated", object_type="webhook_subscription",
                     object_id=str(subscription.pk), object_jurisdiction=actor.jurisdiction)
    return subscription, signing.secret_for(subscription.secret_salt)


def subscription_delete(*, actor: Principal, subscription_id) -> None:
    subscription = subscription_get(actor=actor, subscription_id=subscription_id)
    with transaction.atomic():
        audit_record(actor=actor, action="webhook.deleted", object_type="webhook_subscription",
                     object_id=str(subscription.pk), object_jurisdiction=actor.jurisdiction,
                     detail={"url_host": urlsplit(subscription.url).hostname})
        subscription.delete()


def _cancel_pending(subscription: Subscription) -> None:
    Delivery.objects.filter(subscription=subscription, state=DeliveryState.PENDING).update(
        state=DeliveryState.CANCELLED, last_error="subscription inactive")


# --- the dispatcher's side ----------------------------------------------------------------------


def _matches(name: str, patterns: list[str]) -> bool:
    return any(pattern == "*" or pattern == name or (pattern.endswith(".*") and name.startswith(pattern[:-1]))
               for pattern in patterns)


def deliveries_create(*, routes: list[Route]) -> list[uuid.UUID]:
    """The deliverer: a pending delivery per event and active subscription that wants it and
    whose client's jurisdiction may see it, with the body redacted as for that jurisdiction
    (the route's audience: the same rule as the stream). Call inside the dispatch transaction;
    the attempts are requested after it commits."""
    if not routes:
        return []
    subscriptions = [
        (subscription, EventFilter.parse(subscription.filters))
        for subscription in Subscription.objects.filter(is_active=True).select_related("client")
        if scopes_allow(list(subscription.client.scopes), Action.READ)
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    rows = []
    for route in routes:
        for subscription, event_filter in subscriptions:
            if not _matches(route.name, subscription.events):
                continue
            body = route.text_for(subscription.client.jurisdiction_id)
            if body is None:
                continue
            if not event_filter.is_empty and not event_filter.matches(
                    category=route.category, level=route.level, jurisdictions=route.jurisdictions):
                continue
            rows.append(Delivery(subscription=subscription, event_seq=route.seq, event_name=route.name, body=body,
                                 next_attempt_at=now))
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: request_attempts(ids))
    return ids


def request_attempts(delivery_ids, *, countdown: float | None = None) -> None:
    """Ask workers to attempt these deliveries. Never raises: with the broker down the sweep
    finds them due in the database."""
    try:
        for delivery_id in delivery_ids:
            current_app.send_task(DELIVER_TASK, args=[str(delivery_id)], countdown=countdown)
    except Exception as exc:  # a broker outage must not fail what has committed
        logger.warning("webhook attempts not requested (%s); the sweep will find them", exc)


# --- attempts ---------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter after the n-th failed attempt, bounded."""
    base = min(settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    return base * random.uniform(0.5, 1.0)


def _claim(delivery_id: uuid.UUID, now) -> bool:
    """Compare-and-set: only one worker gets to attempt a delivery that is due."""
    due = Q(state=DeliveryState.PENDING, next_attempt_at__lte=now) | Q(
        state=DeliveryState.SENDING, claimed_at__lt=now - CLAIM_LEASE)
    return bool(Delivery.objects.filter(due, pk=delivery_id).update(
        state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1))


def delivery_attempt(*, delivery_id) -> str:
    """One attempt of one delivery, if it is due and nobody else took it. Returns what happened."""
    try:
        delivery_id = uuid.UUID(str(delivery_id))
    except ValueError:
        return "unknown"
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "not due"
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.CANCELLED,
                                                       last_error="subscription inactive")
        return "cancelled"
    body = delivery.body.encode()
    secrets_ = [signing.secret_for(subscription.secret_salt)]
    if subscription.previous_secret_salt and subscription.previous_secret_until and \
            subscription.previous_secret_until > now:
        secrets_.append(signing.secret_for(subscription.previous_secret_salt))
    attempt = sender.post(url=subscription.url, body=body, headers={
        signing.HEADER: signing.signature_header(secrets_=secrets_, timestamp=int(now.timestamp()), body=body),
        "Liandong-Delivery": str(delivery.pk),
        "Liandong-Event": delivery.event_name,
        "Liandong-Seq": str(delivery.event_seq),
        "Liandong-Attempt": str(delivery.attempts),
    })
    return _record(delivery, attempt)


def _record(delivery: Delivery, attempt: sender.Attempt) -> str:
    now = timezone.now()
    entry = {"at": now.isoformat(), "status": attempt.status_code, "error": attempt.error,
             "duration_ms": attempt.duration_ms}
    retry_in = None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(no_key=True).get(pk=delivery.subscription_id)
        values = {"claimed_at": None, "last_attempt_at": now, "last_status_code": attempt.status_code,
                  "last_error": attempt.error, "history": [*delivery.history, entry]}
        if attempt.ok:
            values.update(state=DeliveryState.DELIVERED, delivered_at=now)
            outcome = "delivered"
            subscription.consecutive_failures, subscription.failing_since = 0, None
            subscription.last_success_at = now
        else:
            subscription.consecutive_failures += 1
            subscription.failing_since = subscription.failing_since or now
            subscription.last_failure_at = now
            if attempt.permanent or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                values["state"] = DeliveryState.FAILED
                outcome = "failed"
            else:
                retry_in = min(max(retry_delay(delivery.attempts), attempt.retry_after or 0),
                               settings.WEBHOOK_RETRY_MAX_SECONDS)
                values.update(state=DeliveryState.PENDING, next_attempt_at=now + timedelta(seconds=retry_in))
                outcome = "retry"
        Delivery.objects.filter(pk=delivery.pk).update(**values)
        subscription.save(update_fields=["consecutive_failures", "failing_since", "last_success_at",
                                         "last_failure_at", "updated_at"])
        if not attempt.ok and subscription.is_active and _persistently_failing(subscription, now):
            _disable(subscription, now=now, reason=attempt.error or "failing")
            outcome = "disabled"
    if retry_in is not None and outcome == "retry" and retry_in <= _countdown_limit():
        request_attempts([delivery.pk], countdown=retry_in)
    return outcome


def _countdown_limit() -> float:
    # Redis hands an unacknowledged message (an ETA task the worker holds) to another worker
    # after the visibility timeout: longer waits are left to the sweep instead.
    return min(60.0, settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 120) / 2)


def _persistently_failing(subscription: Subscription, now) -> bool:
    return (subscription.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
            and now - subscription.failing_since >= timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS))


def _disable(subscription: Subscription, *, now, reason: str) -> None:
    """Switch a subscription off, cancel what it still had pending, and say so (an event the
    client gets on the stream and on its other subscriptions)."""
    client = subscription.client
    reason = f"{subscription.consecutive_failures} failed attempts in a row; last: {reason}"[:300]
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False, disabled_at=now, disabled_reason=reason)
    subscription.is_active, subscription.disabled_at, subscription.disabled_reason = False, now, reason
    _cancel_pending(subscription)
    audit_record(actor=None, action="webhook.disabled", object_type="webhook_subscription",
                 object_id=str(subscription.pk), object_jurisdiction=client.jurisdiction_id,
                 detail={"reason": reason})
    clusters = sorted(client.jurisdiction.clusters.values_list("code", flat=True))
    # Contacts, as data: how a jurisdiction's systems are reached is shared with its cluster's
    # coordinators and by explicit agreement only, never by the default rule.
    subject = Subject(type="webhook_subscription", id=str(subscription.pk), cluster=clusters[0] if clusters else "",
                      owner=client.jurisdiction_id, data_kind=DataKind.CONTACTS)
    emit_event("webhook.disabled", subject=subject, payload={
        "subscription": str(subscription.pk), "client": client.name, "url_host": urlsplit(subscription.url).hostname,
        "reason": reason, "consecutive_failures": subscription.consecutive_failures,
        "failing_since": subscription.failing_since.isoformat() if subscription.failing_since else None,
        "disabled_at": now.isoformat(),
    })
    logger.warning("webhook subscription %s of %s disabled: %s", subscription.pk, client, reason)


# --- the safety nets --------------------------------------------------------------------------


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Request attempts for deliveries that are due and not taken (a lost task, a killed
    worker, a wait too long for a countdown). Returns how many."""
    now = timezone.now()
    grace = timedelta(seconds=2)  # a countdown task due this moment is on its way
    ids = list(Delivery.objects.filter(
        Q(state=DeliveryState.PENDING, next_attempt_at__lte=now - grace)
        | Q(state=DeliveryState.SENDING, claimed_at__lt=now - CLAIM_LEASE)
    ).values_list("pk", flat=True)[:limit])
    request_attempts(ids)
    return len(ids)


def deliveries_prune() -> int:
    """Drop finished deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = Delivery.objects.filter(
        created_at__lt=cutoff, state__in=[DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.CANCELLED]
    ).delete()
    return deleted
