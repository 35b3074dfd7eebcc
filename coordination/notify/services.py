"""The notification pipeline's outbox and answers: the rows written with the request they
announce, cancelling, links opened and used, delivery receipts (docs/notifications.md). How the
rows are sent is coordination/notify/sending.py.

Layer 5 (docs/architecture.md, "Layers"): the workflows call `notify_for_acknowledgement` inside
the transaction that writes an acknowledgement request, and `notifications_cancel` inside the one
that answers it.

The outbox rule. A row per recipient and channel is written in the transaction of the request
it announces, and the send is asked for after that transaction commits (`on_commit`): a request
that rolls back reaches nobody, one that commits reaches everyone, and with the broker down the
rows wait in the table for beat's sweep (every 10 s, config/celery.py).
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import JSONField, Q
from django.utils import timezone

from coordination.duty.selectors import display_name, on_duty
from coordination.models import BodyMembership, CoordinationBody, Membership
from coordination.notify.escalation import BACKUP, EVERYONE, HEAD, Wave, frozen_people, unreachable, waves
from coordination.notify.events import notification_event
from coordination.notify.lifecycle import Reason, State, may_move
from coordination.notify.models import Notification
from coordination.notify.rendering import language_for
from coordination.notify.sending import fail_over, move, request_sends
from coordination.people.selectors import languages_of, notification_plans, reachable_of
from coordination.workflows.definitions import person_wait_minutes
from coordination.workflows.timeline import Note, timeline_note

logger = logging.getLogger("liandong.notify")

URGENT_LEVELS = frozenset({"I", "II"})  # quiet hours do not hold these back


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
    # Those of the people who still exist (frozen when the run started); their ids alone.
    users = set(get_user_model().objects.filter(pk__in=[user_id for user_id, _ in people])
                .values_list("pk", flat=True))
    homes = dict(Membership.objects.filter(user_id__in=users).values_list("user_id", "jurisdiction_id"))
    chosen = languages_of(users)
    urgent = (ack.level or incident["level"]) in URGENT_LEVELS
    plans = notification_plans(list(users), urgent=urgent, at=now)
    rows: list[Notification] = []
    for user_id, rank in people:
        if user_id not in users:
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
    _insert_new(rows)
    due = [row.pk for row in rows if row.not_before <= now]
    if due:
        transaction.on_commit(lambda: request_sends(due))
    return [row.pk for row in rows]


def _insert_new(rows: list[Notification]) -> None:
    """Insert the rows whose idempotency key is not taken (the others were written before for
    the same request). On PostgreSQL the rows are copied (COPY) into a temporary table and
    inserted from it in one statement: a request to 1,000 people (3,000 rows) is written in
    about half the time of bulk_create, whose Python prepares each value of each row one by one
    (bench.notify, the step writing the rows). Elsewhere, bulk_create."""
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        return
    fields = Notification._meta.concrete_fields
    table = connection.ops.quote_name(Notification._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # psycopg adapts the attributes' values as Python holds them (str, int, UUID, datetime);
    # the JSON column goes through its field's own preparation.
    prepared = [field if isinstance(field, JSONField) else None for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS notify_outbox_new (LIKE {table}) ON COMMIT DELETE ROWS")
        with cursor.cursor.copy(f"COPY notify_outbox_new ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [getattr(row, field.attname) for field in fields]
                copy.write_row([value if field is None else field.get_db_prep_save(value, connection)
                                for field, value in zip(prepared, values, strict=True)])
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM notify_outbox_new "
                       "ON CONFLICT DO NOTHING")
        cursor.execute("TRUNCATE notify_outbox_new")


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
    move(row, State.ACKNOWLEDGED, now, "opened_at")
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
            move(row, State.DELIVERED, now)
        else:
            row.error_code = (error_code or "undelivered")[:64]
            move(row, State.FAILED, now, "error_code")
            due_next = fail_over(row, now)
    if due_next:
        request_sends(due_next)
    return row
