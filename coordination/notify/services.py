"""The notification pipeline: the outbox, sending, failover, cancelling (docs/notifications.md).

Layer 5 (docs/architecture.md, "Layers"): the workflows call `notify_for_acknowledgement` inside
the transaction that writes an acknowledgement request, and `notifications_cancel` inside the one
that answers it; Celery tasks (coordination/notify/tasks.py) call `send_due` and `sweep`.

The outbox rule. A row per recipient and channel is written in the transaction of the request
it announces, and the send is asked for after that transaction commits (`on_commit`): a request
that rolls back reaches nobody, one that commits reaches everyone, and with the broker down the
rows wait in the table for beat's sweep (every 10 s, config/celery.py).

Sending. A worker claims due rows (`select_for_update(skip_locked)`, so two sweeps or two
workers never take the same row) by moving them to `sending` with a lease, commits, renders the
messages and hands them to their channels' providers a few at once (`send_together`), then
records what came back: `sent` with the provider's id; a transient ProviderError puts the row back in `queued` after a backoff; a
permanent one, or the retries spent, fails it, and the recipient's next channel for the same
request becomes due at once (failover).

Never twice. A row whose lease expired while `sending` belongs to a worker that died between
claiming and recording. If it had not yet been handed over (`handed_at`, set just before the
provider is called) it is simply sent again. If it had, the provider may or may not have the
message: it is handed again only to a provider that deduplicates on the idempotency key (the adapter says so with a true
`deduplicates` attribute: the provider itself drops the second copy); otherwise it is failed
with the code `outcome_unknown` and the recipient's next channel goes at once. A person may then
get the message on a second channel, never the same message twice on one.
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
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from coordination.duty.selectors import display_name, on_duty
from coordination.models import BodyMembership, CoordinationBody, Membership
from coordination.notify.escalation import BACKUP, EVERYONE, HEAD, Wave, frozen_people, unreachable, waves
from coordination.notify.events import EVENTS, notification_event, notification_events
from coordination.notify.lifecycle import STATE_TIMES, Reason, State, may_move
from coordination.notify.models import Notification
from coordination.notify.providers.base import Message, ProviderError
from coordination.notify.providers.registry import provider_for
from coordination.notify.rendering import language_for, render
from coordination.people.selectors import languages_of, notification_plans, reachable_of
from coordination.workflows.definitions import person_wait_minutes
from coordination.workflows.models import AckStatus
from coordination.workflows.timeline import Note, timeline_note

logger = logging.getLogger("liandong.notify")

SEND_TASK = "coordination.notify.tasks.send"
BATCH = 50  # rows per send task: one claim, one transaction, a few seconds of sending
URGENT_LEVELS = frozenset({"I", "II"})  # quiet hours do not hold these back
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


# --- the outbox ------------------------------------------------------------------------------------


def body_people_to_reach(body: str, *, at: datetime) -> tuple[list[tuple[int, int]], bool]:
    """([(user id, rank)], covered) for a coordination body: its roster's people on duty at `at`,
    the primary first, else every officer seated on it (they answer for the body;
    coordination.bodies) and `covered` False. A jurisdiction's people: escalation.frozen_people."""
    owner = CoordinationBody.objects.filter(pk=body).first()
    duty = on_duty(owner, at) if owner is not None else []
    if duty:
        return [(person.user_id, person.position) for person in duty], True
    seated = (BodyMembership.objects.filter(body_id=body, user__is_active=True)
              .order_by("user_id").values_list("user_id", flat=True))
    return [(user_id, 0) for user_id in seated], False


def _incident_of(ack) -> dict | None:
    from incidents.models import Incident

    incident = (Incident.objects.filter(public_id=ack.incident_id)
                .values("pk", "level", "reporting_jurisdiction_id").first())
    if incident is None:
        logger.warning("acknowledgement %s: incident %s not found; nobody notified", ack.pk, ack.incident_id)
    return incident


def _write_rows(ack, incident: dict, people: list[tuple[int, int]], *, reason: str, params: dict, key: str,
                jurisdiction: str | None = None, body: str | None = None, now: datetime,
                offsets: dict[int, timedelta] | None = None) -> list[uuid.UUID]:
    """A row for every channel of each person's plan, each person's starting `offsets[user id]`
    after now (their wave: escalation.py); the due ones sent after the commit."""
    offsets = offsets or {}
    users = get_user_model().objects.in_bulk([user_id for user_id, _ in people])
    homes = dict(Membership.objects.filter(user_id__in=list(users)).values_list("user_id", "jurisdiction_id"))
    chosen = languages_of(users)
    urgent = (ack.level or incident["level"]) in URGENT_LEVELS
    plans = notification_plans(list(users), urgent=urgent, at=now)
    rows: list[Notification] = []
    for user_id, rank in people:
        user = users.get(user_id)
        if user is None:
            continue
        # Each reads the language they chose, else their own jurisdiction's (a body's officers
        # come from several); rendering reads the choice again when the message is written.
        language = {"language": language_for(jurisdiction=homes.get(user_id) or jurisdiction,
                                             chosen=chosen.get(user_id, ""))}
        seen: dict[str, int] = {}
        for position, step in enumerate(plans[user_id]):
            seen[step.channel] = seen.get(step.channel, 0) + 1
            # One key per request, person and channel; a second address on the same channel
            # (two e-mail addresses) is the channel's second use.
            suffix = "" if seen[step.channel] == 1 else f":{seen[step.channel]}"
            rows.append(Notification(
                incident_id=incident["pk"], acknowledgement_id=ack.pk, reason=reason, params={**params, **language},
                recipient_id=user_id, jurisdiction_id=jurisdiction, body_id=body, channel=step.channel,
                contact_id=step.contact_id, address=step.address, rank=rank, position=position,
                not_before=now + offsets.get(user_id, timedelta(0)) + step.not_before_offset,
                idempotency_key=f"{key}.{user_id}.{step.channel}{suffix}",
                created_at=now, queued_at=now,
            ))
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    due = [row.pk for row in rows if row.not_before <= now]
    if due:
        transaction.on_commit(lambda: request_sends(due))
    return [row.pk for row in rows]


def _in_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{name} runs inside the transaction that asks (the outbox rule)")


def notify_for_acknowledgement(ack, *, now: datetime | None = None) -> list[uuid.UUID]:
    """The outbox rows announcing one acknowledgement request to the people of
    `ack.jurisdiction`, wave by wave (escalation.py, docs/notifications.md "Person by person"):
    the primary's rows due now, each backup's and then the bureau's head's after the waits the
    playbook's level sets, all before the request's deadline; whom, from the people frozen on the
    run when it started. Call inside the transaction that writes the request (it refuses to run
    outside one); the rows due now are sent after it commits, the later ones by the sweep, unless
    an answer cancels them first. Writing them again for the same request changes nothing (the
    idempotency keys). The timeline says who is reached at each wave."""
    _in_transaction("notify_for_acknowledgement")
    now = now or timezone.now()
    incident = _incident_of(ack)
    if incident is None:
        return []
    code = ack.jurisdiction_id
    reason, params = Reason.ACK_REQUESTED, {"asker": incident["reporting_jurisdiction_id"]}
    if ack.escalation_of_id:
        silent = type(ack).objects.filter(pk=ack.escalation_of_id).values_list("jurisdiction_id", flat=True).first()
        reason, params = Reason.ACK_IN_PLACE, {**params, "silent": silent}
    planned, passed_over = _waves_of(ack, code, now=now)
    offsets = {user_id: wave.offset for wave in planned for user_id, _ in wave.people}
    people = [person for wave in planned for person in wave.people]
    written = _write_rows(ack, incident, people, reason=reason, params=params, key=f"ack.{ack.pk}",
                          jurisdiction=code, now=now, offsets=offsets)
    if passed_over:
        _note_no_contact(ack, code, passed_over, now=now)
    covered = not planned or planned[0].kind != EVERYONE
    if not covered:
        timeline_note(incident=ack.incident_id, at=now, note=Note(
            "notify.no_roster" if written else "notify.nobody_reachable", {"jurisdiction": code}))
    elif not written:
        timeline_note(incident=ack.incident_id, at=now, note=Note("notify.nobody_reachable", {"jurisdiction": code}))
    else:
        _note_waves(ack, code, planned, written, now=now)
    return written


def _waves_of(ack, code: str, *, now: datetime) -> tuple[list[Wave], list[int]]:
    """The request's waves and the people passed over (no usable contact method: they hold no
    wave, the next person comes in their place): its jurisdiction's people as frozen on the run
    (freeze_chain), or, for a jurisdiction the run did not freeze (outside its cluster; a run
    started before people were frozen), as they are now. Whether a person can be reached is
    read now, when the request is made: a contact method added after the run started counts."""
    run = ack.run
    people = ((run.chain or {}).get("people") or {}).get(code)
    if people is None:
        people = frozen_people([code], at=now).get(code, {"duty": [], "heads": [], "covered": False})
    everyone = [user_id for user_id, _ in people.get("duty", [])] + list(people.get("heads", []))
    reachable = reachable_of(everyone)
    planned = waves(people, requested_at=ack.requested_at or now, due_at=ack.due_at or now,
                    wait_minutes=person_wait_minutes(run.definition, ack.level or "IV"), reachable=reachable)
    return planned, unreachable(people, reachable)


def _note_no_contact(ack, code: str, user_ids: list[int], *, now: datetime) -> None:
    """One timeline entry naming who of `code` was passed over for having no contact method (the
    incident page's "who was reached" part reads it: selectors.reached_of_incident)."""
    users = get_user_model().objects.in_bulk(user_ids)
    names = [display_name(users[user_id]) for user_id in user_ids if user_id in users]
    timeline_note(incident=ack.incident_id, at=now, note=Note(
        "notify.no_contact", {"jurisdiction": code, "people": names}))


def _note_waves(ack, code: str, planned: list[Wave], written: list[uuid.UUID], *, now: datetime) -> None:
    """One timeline entry: who is reached at each wave (only people a row was written for)."""
    reached = set(Notification.objects.filter(pk__in=written).values_list("recipient_id", flat=True))
    users = get_user_model().objects.in_bulk(list(reached))
    parts = []
    for wave in planned:
        names = [display_name(users[user_id]) for user_id, _ in wave.people if user_id in users]
        if not names:
            continue
        if wave.kind == HEAD:
            parts.append(Note("notify.wave_head", {"people": names, "minutes": wave.minutes}))
        elif wave.kind == BACKUP and not wave.offset:  # the primary was passed over (no contact method)
            parts.append(Note("notify.wave_backup_first", {"person": names[0]}))
        elif wave.offset:
            parts.append(Note("notify.wave_backup", {"person": names[0], "minutes": wave.minutes}))
        else:
            parts.append(Note("notify.wave_primary", {"person": names[0]}))
    timeline_note(incident=ack.incident_id, at=now, note=Note("notify.waves", {"jurisdiction": code, "waves": parts}))


def notify_for_body(ack, *, body: str, now: datetime | None = None) -> list[uuid.UUID]:
    """A request escalated to a coordination body (the cluster committee): the body's people on
    duty, else its seated officers, are asked to acknowledge in the silent jurisdiction's place
    (their answer is the body's: workflows.services.acknowledgement_acknowledge). Inside the
    escalation's transaction, as notify_for_acknowledgement."""
    _in_transaction("notify_for_body")
    now = now or timezone.now()
    incident = _incident_of(ack)
    if incident is None:
        return []
    people, covered = body_people_to_reach(body, at=now)
    written = _write_rows(ack, incident, people, reason=Reason.ACK_IN_PLACE,
                          params={"asker": incident["reporting_jurisdiction_id"], "silent": ack.jurisdiction_id},
                          key=f"ack.{ack.pk}.body.{body}", body=body, now=now)
    if not covered or not written:
        timeline_note(incident=ack.incident_id, at=now, note=Note(
            "notify.no_body_roster" if written else "notify.body_nobody_reachable", {"body": body}))
    return written


def request_sends(ids: Iterable) -> None:
    """One send task per batch of rows. Never raises: with the broker down the sweep finds them."""
    ids = [str(pk) for pk in ids]
    try:
        for start in range(0, len(ids), BATCH):
            current_app.send_task(SEND_TASK, args=[ids[start:start + BATCH]])
    except Exception as exc:  # a broker outage must not fail what has committed
        logger.warning("notification sends not requested (%s); the sweep will find them", exc)


# --- sending ---------------------------------------------------------------------------------------


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
        # What sending reads comes with the claim (one query for the batch, not one per row).
        rows = list(rows.select_related("acknowledgement", "incident", "contact",
                                                "recipient__notification_policy").order_by("not_before")[:limit])
        until = now + lease()
        for row in rows:
            ack = row.acknowledgement
            if row.state == State.QUEUED and ack is not None and ack.status != AckStatus.PENDING:
                _move(row, State.CANCELLED, now)
                continue
            # An expired lease: a row the dead worker never handed over is simply sent again;
            # one it handed (handed_at) may have gone out, and is resent only where the provider
            # deduplicates.
            if row.state == State.SENDING and row.handed_at is not None and not _deduplicates(row.channel):
                row.error_code = OUTCOME_UNKNOWN
                _move(row, State.FAILED, now, "error_code", "lease_until")
                failovers.append(row)
                continue
            if not may_move(row.state, State.SENDING):
                raise ValueError(f"notification {row.pk}: {row.state} → sending is not a move of its lifecycle")
            row.state, row.attempts, row.lease_until, row.handed_at = State.SENDING, row.attempts + 1, until, None
            claimed.append(row)
        # One statement for the batch's claims (attempts + 1 for each, as set on the rows above).
        Notification.objects.filter(pk__in=[row.pk for row in claimed]).update(
            state=State.SENDING, lease_until=until, attempts=F("attempts") + 1, handed_at=None)
        due_next = [pk for row in failovers for pk in _fail_over(row, now)]
    if due_next:
        request_sends(due_next)
    return claimed


def _move(row: Notification, state: str, now: datetime, *fields: str) -> None:
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


def send_one(row: Notification) -> str:
    """Send one row this worker claimed (`claim`); what came back is recorded."""
    return send_together([row])[0]


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
        mine = set(Notification.objects.select_for_update(of=("self",)).filter(_held(row for row, _, _ in sent))
                   .values_list("pk", flat=True))
        recorded = []
        for row, provider_id, at in sent:
            if row.pk not in mine:
                logger.warning("notification %s: sent, but its claim had passed to another worker", row.pk)
                continue
            row.state, row.sent_at, row.provider_id, row.lease_until, row.error_code = (
                State.SENT, at, provider_id[:200], None, "")
            recorded.append(row)
        _write_sent(recorded)
        notification_events([(row, row.sent_at) for row in recorded], state=State.SENT)


def _write_sent(rows: list[Notification]) -> None:
    """The sent rows' columns, one UPDATE per row sent together (executemany: one round trip
    with psycopg's pipeline). Not the ORM's bulk_update, whose CASE per row and column cost
    2 ms of Python a row (measured on 280 rows); the rows are locked by the caller."""
    if not rows:
        return
    field = Notification._meta.get_field
    prepared = [
        (State.SENT, field("sent_at").get_db_prep_value(row.sent_at, connection),
         row.provider_id, field("id").get_db_prep_value(row.pk, connection))
        for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Notification._meta.db_table} SET state = %s, sent_at = %s, provider_id = %s, "
            "lease_until = NULL, error_code = '' WHERE id = %s", prepared)


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
            _move(locked, State.QUEUED, now, "error_code", "not_before", "lease_until")
            outcome = "retry"
        else:
            locked.lease_until = None
            _move(locked, State.FAILED, now, "error_code", "lease_until")
            due_next = _fail_over(locked, now)
            outcome = "failed"
    if due_next:
        request_sends(due_next)
    return outcome


def _fail_over(row: Notification, now: datetime) -> list:
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


# --- answers and receipts -----------------------------------------------------------------------------


def notifications_cancel(*, chain_of, now: datetime | None = None) -> int:
    """A request of the chain rooted at `chain_of` (an acknowledgement's id: the request and
    those asked in its place) was answered: what is still queued for any of them is not sent.
    Inside the caller's transaction. A row being sent at this moment is let go (it says what
    was true when it was rendered, and its link now says the request was answered); a row
    whose request is withdrawn with its run is cancelled when a worker comes to claim it."""
    now = now or timezone.now()
    return (Notification.objects
            .filter(Q(acknowledgement_id=chain_of) | Q(acknowledgement__escalation_of_id=chain_of), state=State.QUEUED)
            .update(state=State.CANCELLED, cancelled_at=now, lease_until=None))


def notification_opened(*, notification: Notification, now: datetime | None = None) -> None:
    """Its link was opened (a GET: marks the row, changes nothing else). The first time counts,
    and only it is told (notification.opened)."""
    now = now or timezone.now()
    with transaction.atomic():
        if Notification.objects.filter(pk=notification.pk, opened_at__isnull=True).update(opened_at=now):
            notification_event(notification, state="opened", at=now)


def notification_acknowledged(*, notification: Notification, now: datetime | None = None) -> bool:
    """The request was acknowledged through this row's link: the row is used. Call inside the
    transaction that acknowledges; False when it was used already."""
    now = now or timezone.now()
    row = Notification.objects.select_for_update(of=("self",)).filter(pk=notification.pk).first()
    if row is None or not may_move(row.state, State.ACKNOWLEDGED):
        return False
    row.opened_at = row.opened_at or now
    _move(row, State.ACKNOWLEDGED, now, "opened_at")
    return True


def notification_receipt(*, channel: str, provider_id: str, delivered: bool, error_code: str = "",
                         at: datetime | None = None) -> Notification | None:
    """A provider's delivery receipt (an authenticated callback): the row it names moves to
    `delivered`, or to `failed` with the provider's code (and the recipient's next channel goes
    at once). A receipt for a row already further on, or for no row, changes nothing."""
    now = at or timezone.now()
    due_next: list = []
    with transaction.atomic():
        row = (Notification.objects.select_for_update(of=("self",))
               .filter(channel=channel, provider_id=provider_id).exclude(provider_id="").first())
        if row is None:
            return None
        target = State.DELIVERED if delivered else State.FAILED
        if not may_move(row.state, target):
            return row
        if delivered:
            _move(row, State.DELIVERED, now)
        else:
            row.error_code = (error_code or "undelivered")[:64]
            _move(row, State.FAILED, now, "error_code")
            due_next = _fail_over(row, now)
    if due_next:
        request_sends(due_next)
    return row
