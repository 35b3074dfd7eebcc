"""Sending notifications: claiming due rows, handing them to their providers, recording what
came back, retries and failover, beat's sweep (docs/notifications.md, "Sending, retries and
failover", "Never twice").

Layer 5 (docs/architecture.md, "Layers"), beside coordination.notify.services, which writes the
rows (the outbox) and asks for their sending here (`request_sends`); Celery tasks
(coordination/notify/tasks.py) call `send_due` and `sweep`.

Sending. A worker claims due rows (`select_for_update(skip_locked)`, so two sweeps or two
workers never take the same row) by moving them to `sending` with a lease, commits, renders the
messages and hands them to their channels' providers a few at once (`send_together`), then
records what came back: `sent` with the provider's id; a transient ProviderError puts the row
back in `queued` after a backoff; a permanent one, or the retries spent, fails it, and the
recipient's next channel for the same request becomes due at once (failover).

Never twice. A row whose lease expired while `sending` belongs to a worker that died between
claiming and recording. If it had not yet been handed over (`handed_at`, set just before the
provider is called) it is simply sent again. If it had, the provider may or may not have the
message: it is handed again only to a provider that deduplicates on the idempotency key (the
adapter says so with a true `deduplicates` attribute: the provider itself drops the second
copy); otherwise it is failed with the code `outcome_unknown` and the recipient's next channel
goes at once. A person may then get the message on a second channel, never the same message
twice on one.
"""

import logging
import os
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from coordination.notify.events import EVENTS, notification_event, notification_events
from coordination.notify.lifecycle import STATE_TIMES, State, may_move
from coordination.notify.models import Notification
from coordination.notify.providers.base import Message, ProviderError
from coordination.notify.providers.registry import provider_for
from coordination.notify.rendering import render
from coordination.workflows.models import AckStatus

logger = logging.getLogger("liandong.notify")

SEND_TASK = "coordination.notify.tasks.send"
BATCH = 50  # rows per send task: one claim, one transaction, a few seconds of sending
OUTCOME_UNKNOWN = "outcome_unknown"


def lease() -> timedelta:
    """How long a claim holds (NOTIFY_LEASE_SECONDS, config/settings.py): longer than any
    provider's timeout (10 s by default), so a live worker is never taken for a dead one."""
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def max_attempts() -> int:
    return int(settings.NOTIFY_MAX_ATTEMPTS)


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter after the n-th failed attempt, bounded (the defaults and
    why they span minutes: config/settings.py, NOTIFY_MAX_ATTEMPTS)."""
    base = min(settings.NOTIFY_RETRY_MAX_SECONDS, settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return base * random.uniform(0.5, 1.0)


def request_sends(ids: Iterable) -> None:
    """One send task per batch of rows. Never raises: with the broker down the sweep finds them."""
    ids = [str(pk) for pk in ids]
    try:
        for start in range(0, len(ids), BATCH):
            current_app.send_task(SEND_TASK, args=[ids[start:start + BATCH]])
    except Exception as exc:  # a broker outage must not fail what has committed
        logger.warning("notification sends not requested (%s); the sweep will find them", exc)


def _due(now: datetime) -> Q:
    return Q(state=State.QUEUED, not_before__lte=now) | Q(state=State.SENDING, lease_until__lt=now)


def _deduplicates(channel: str) -> bool:
    try:
        return bool(getattr(provider_for(channel), "deduplicates", False))
    except Exception:  # noqa: BLE001 - a provider that cannot be built does not deduplicate
        return False


def claim(*, ids: Iterable | None = None, now: datetime | None = None, limit: int = BATCH) -> list[Notification]:
    """Take due rows for this worker: `sending`, leased until now + lease(), one more attempt.
    Locked rows are skipped (another worker has them), so no row is claimed twice. What may
    not be sent is settled here: a row whose request is no longer pending is cancelled, an
    expired lease on a provider that does not deduplicate is failed (outcome unknown) and its
    recipient's next channel made due."""
    now = now or timezone.now()
    claimed: list[Notification] = []
    failovers: list[Notification] = []
    with transaction.atomic():
        rows = Notification.objects.select_for_update(skip_locked=True, of=("self",)).filter(_due(now))
        if ids is not None:
            rows = rows.filter(pk__in=[uuid.UUID(str(pk)) for pk in ids])
        # What sending reads comes with the claim: each row's own contact and recipient joined,
        # the few incidents and requests a batch announces read once (_attach_requests).
        rows = list(rows.select_related("contact", "recipient__notification_policy").order_by("not_before")[:limit])
        _attach_requests(rows)
        until = now + lease()
        for row in rows:
            ack = row.acknowledgement
            if row.state == State.QUEUED and ack is not None and ack.status != AckStatus.PENDING:
                move(row, State.CANCELLED, now)
                continue
            # An expired lease: a row the dead worker never handed over is simply sent again;
            # one it handed (handed_at) may have gone out, and is resent only where the provider
            # deduplicates.
            if row.state == State.SENDING and row.handed_at is not None and not _deduplicates(row.channel):
                row.error_code = OUTCOME_UNKNOWN
                move(row, State.FAILED, now, "error_code", "lease_until")
                failovers.append(row)
                continue
            if not may_move(row.state, State.SENDING):
                raise ValueError(f"notification {row.pk}: {row.state} → sending is not a move of its lifecycle")
            row.state, row.attempts, row.lease_until, row.handed_at = State.SENDING, row.attempts + 1, until, None
            claimed.append(row)
        # One statement for the batch's claims (attempts + 1 for each, as set on the rows above).
        Notification.objects.filter(pk__in=[row.pk for row in claimed]).update(
            state=State.SENDING, lease_until=until, attempts=F("attempts") + 1, handed_at=None)
        due_next = [pk for row in failovers for pk in fail_over(row, now)]
    if due_next:
        request_sends(due_next)
    return claimed


def _attach_requests(rows: list[Notification]) -> None:
    """Each row's incident and acknowledgement, read once for the batch and shared by its rows:
    a batch's fifty rows announce one incident's requests, and joined to every row the incident
    (29 columns, its area's GeoJSON among them) was read and parsed fifty times (bench.notify:
    the claim was a sixth of a worker's time)."""
    incidents = Notification._meta.get_field("incident").related_model.objects.in_bulk(
        {row.incident_id for row in rows})
    requests = Notification._meta.get_field("acknowledgement").related_model.objects.in_bulk(
        {row.acknowledgement_id for row in rows if row.acknowledgement_id})
    for row in rows:
        row.incident = incidents[row.incident_id]
        row.acknowledgement = requests.get(row.acknowledgement_id)


def move(row: Notification, state: str, now: datetime, *fields: str) -> None:
    """`row` to `state` as its lifecycle allows, with the state's moment and `fields` saved, and
    the event that says so when there is one; inside the caller's transaction."""
    if not may_move(row.state, state):
        raise ValueError(f"notification {row.pk}: {row.state} → {state} is not a move of its lifecycle")
    row.state = state
    changed = ["state", *fields]
    column = STATE_TIMES.get(state)
    if column:
        setattr(row, column, now)
        changed.append(column)
    row.save(update_fields=changed)
    if state in EVENTS:  # who was reached, told in this same transaction (coordination/notify/events.py)
        notification_event(row, state=state, at=now)


def send_due(*, ids: Iterable | None = None, now: datetime | None = None, limit: int = BATCH) -> dict:
    """Claim due rows (those of `ids`, or any) and send them, `senders()` at a time
    (`send_together`). Returns counts by outcome."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "lost": 0}
    claimed = claim(ids=ids, now=now, limit=limit)
    together = senders()
    for start in range(0, len(claimed), together):
        for outcome in send_together(claimed[start:start + together]):
            counts[outcome] += 1
    return counts


def senders() -> int:
    """How many messages a worker process hands over at once (NOTIFY_SEND_THREADS)."""
    return int(settings.NOTIFY_SEND_THREADS)


_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _sender_pool() -> ThreadPoolExecutor:
    """This process's sending threads, made on first use: a pool inherited through a fork
    (Celery's prefork) has no threads in the child, so a process makes its own."""
    global _pool
    size = senders()
    if _pool is None or _pool[0] != os.getpid() or _pool[1] != size:
        _pool = (os.getpid(), size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="notify-send"))
    return _pool[2]


def send_together(rows: list[Notification]) -> list[str]:
    """Render and send rows this worker claimed (`claim`: their incident, request and contact
    loaded), one outcome per row. Every message is rendered first (in this thread: templates,
    translations); the rows are marked handed over in one statement (`mark_handed`); the
    messages go to their providers at once, a thread each, since each send is mostly waiting
    for the provider's answer and no provider touches the database; the sent ones are recorded
    in one transaction, a failure as it comes. Every record is conditional on the claim
    (state and attempts), so a worker that outlived its lease records nothing over another's."""
    outcomes: dict[uuid.UUID, str] = {}
    ready: list[tuple[Notification, Message, object]] = []
    for row in rows:
        try:
            ready.append((row, _message_of(row), provider_for(row.channel)))
        except ProviderError as exc:
            outcomes[row.pk] = _record_failure(row, exc.code, transient=exc.transient)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: tried again, then failed
            logger.exception("notification %s: rendering failed", row.pk)
            outcomes[row.pk] = _record_failure(row, f"internal:{type(exc).__name__}"[:64], transient=True)
    marked = mark_handed([row for row, _, _ in ready])
    for row, _, _ in ready:
        if row.pk not in marked:
            outcomes[row.pk] = "lost"  # this worker outlived its lease: the row is another's now
    ready = [item for item in ready if item[0].pk in marked]
    handed = list(_sender_pool().map(_hand, ready)) if len(ready) > 1 else [_hand(item) for item in ready]
    sent: list[tuple[Notification, str, datetime]] = []
    for (row, _, _), (result, at) in zip(ready, handed, strict=True):
        if isinstance(result, ProviderError):
            outcomes[row.pk] = _record_failure(row, result.code, transient=result.transient)
        elif isinstance(result, Exception):  # an outage or a bug of ours: tried again, then failed
            logger.error("notification %s: sending failed", row.pk, exc_info=result)
            outcomes[row.pk] = _record_failure(row, f"internal:{type(result).__name__}"[:64], transient=True)
        else:
            sent.append((row, result.provider_id or "", at))
    _record_sent(sent)
    outcomes.update({row.pk: "sent" for row, _, _ in sent})
    return [outcomes[row.pk] for row in rows]


def _message_of(row: Notification) -> Message:
    rendered = render(row)
    return Message(idempotency_key=row.idempotency_key, address=row.address, subject=rendered.subject,
                   text=rendered.text, link=rendered.link, language=rendered.language,
                   secret=row.contact.secret if row.contact is not None else "", extra=rendered.extra)


def _hand(item: tuple[Notification, Message, object]) -> tuple[object, datetime]:
    """One message to its provider, in a sending thread: what came back (Handed, or the
    exception) and when."""
    _, message, provider = item
    try:
        result = provider.send(message)
    except Exception as exc:  # noqa: BLE001 - judged by the caller, in its thread
        result = exc
    return result, timezone.now()


def _held(rows: Iterable[Notification]) -> Q:
    """The rows still held by the claim that took them: sending, at the attempt it counted
    (one term per attempt count, not per row: a filter of fifty ORs costs milliseconds to build)."""
    by_attempts: dict[int, list] = defaultdict(list)
    for row in rows:
        by_attempts[row.attempts].append(row.pk)
    held = Q(pk__in=[])
    for attempts, pks in by_attempts.items():
        held |= Q(pk__in=pks, attempts=attempts)
    return Q(state=State.SENDING) & held


def mark_handed(rows: Notification | list[Notification], now: datetime | None = None) -> set:
    """Say, before the providers are called, that these rows' messages are being handed over:
    from here until the outcome is recorded, a worker's death leaves the outcome unknown (at
    most the NOTIFY_SEND_THREADS rows handed together). Rows a batch claimed but never reached
    stay unmarked and are simply sent again after the lease. Returns the ids marked (those
    this worker still holds)."""
    rows = [rows] if isinstance(rows, Notification) else rows
    if not rows:
        return set()
    now = now or timezone.now()
    held = _held(rows)
    if Notification.objects.filter(held).update(handed_at=now) == len(rows):
        marked = {row.pk for row in rows}
    else:  # a lease ran out under this worker: which are still its own
        marked = set(Notification.objects.filter(held, handed_at=now).values_list("pk", flat=True))
    for row in rows:
        if row.pk in marked:
            row.handed_at = now
    return marked


def _record_sent(sent: list[tuple[Notification, str, datetime]]) -> None:
    """`sent` with each provider's id and the moment it answered, in one transaction, with
    their `notification.sent` events; only the rows this worker still holds."""
    if not sent:
        return
    with transaction.atomic():
        recorded = _write_sent(sent)
        for row, _, _ in sent:
            if row.state != State.SENT:
                logger.warning("notification %s: sent, but its claim had passed to another worker", row.pk)
        notification_events([(row, row.sent_at) for row in recorded], state=State.SENT)


def _write_sent(sent: list[tuple[Notification, str, datetime]]) -> list[Notification]:
    """One UPDATE per row sent together, each conditional on the claim (state and attempts, as
    `_held`), in one executemany (one round trip with psycopg's pipeline); returns the rows
    recorded, their attributes set to match. The condition is checked under the row's lock by
    the UPDATE itself, so no locked read comes first; only when fewer rows than sent were
    changed (a lease ran out under this worker) are they read back to know which. Not the ORM's
    bulk_update, whose CASE per row and column cost 2 ms of Python a row (measured on 280 rows)."""
    field = Notification._meta.get_field
    prepared = [
        (State.SENT, field("sent_at").get_db_prep_value(at, connection), provider_id[:200],
         field("id").get_db_prep_value(row.pk, connection), State.SENDING, row.attempts)
        for row, provider_id, at in sent]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Notification._meta.db_table} SET state = %s, sent_at = %s, provider_id = %s, "
            "lease_until = NULL, error_code = '' WHERE id = %s AND state = %s AND attempts = %s", prepared)
        changed = cursor.rowcount
    if changed == len(sent):
        mine = {row.pk for row, _, _ in sent}
    else:  # another worker holds some of them now: it counted one more attempt
        attempts = {row.pk: row.attempts for row, _, _ in sent}
        mine = {pk for pk, state, tried in Notification.objects.filter(pk__in=list(attempts))
                .values_list("pk", "state", "attempts") if state == State.SENT and tried == attempts[pk]}
    recorded = []
    for row, provider_id, at in sent:
        if row.pk in mine:
            row.state, row.sent_at, row.provider_id, row.lease_until, row.error_code = (
                State.SENT, at, provider_id[:200], None, "")
            recorded.append(row)
    return recorded


def _record_failure(row: Notification, code: str, *, transient: bool) -> str:
    now = timezone.now()
    due_next: list = []
    with transaction.atomic():
        locked = (Notification.objects.select_for_update(of=("self",))
                  .filter(pk=row.pk, state=State.SENDING, attempts=row.attempts).first())
        if locked is None:
            return "failed"
        locked.error_code = code[:64]
        if transient and locked.attempts < max_attempts():
            locked.not_before = now + timedelta(seconds=retry_delay(locked.attempts))
            locked.lease_until = None
            move(locked, State.QUEUED, now, "error_code", "not_before", "lease_until")
            outcome = "retry"
        else:
            locked.lease_until = None
            move(locked, State.FAILED, now, "error_code", "lease_until")
            due_next = fail_over(locked, now)
            outcome = "failed"
    if due_next:
        request_sends(due_next)
    return outcome


def fail_over(row: Notification, now: datetime) -> list:
    """The recipient's next queued channel for the same request, due at once. Inside the
    caller's transaction; returns the ids made due."""
    following = (Notification.objects.filter(acknowledgement_id=row.acknowledgement_id, recipient_id=row.recipient_id,
                                             state=State.QUEUED, position__gt=row.position)
                 .order_by("position").values_list("pk", "not_before").first())
    if following is None:
        return []
    pk, not_before = following
    if not_before > now:
        Notification.objects.filter(pk=pk, state=State.QUEUED).update(not_before=now)
    return [pk]


def sweep(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Beat's safety net: request sends for every due row no task took (a lost message, a
    killed worker, a next channel whose wait ran out). Returns how many were due."""
    now = now or timezone.now()
    grace = timedelta(seconds=2)  # a send task for a row made due this moment is on its way
    ids = list(Notification.objects.filter(
        Q(state=State.QUEUED, not_before__lte=now - grace) | Q(state=State.SENDING, lease_until__lt=now)
    ).order_by("not_before").values_list("pk", flat=True)[:limit])
    request_sends(ids)
    return len(ids)
