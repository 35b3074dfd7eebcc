"""Arming a due time: the first part of the story deadlines.py tells.

A step due later (a wait's duration, a waiting step's timeout, a retry) has `due_at`; an
acknowledgement request has `next_check_at` (its deadline, then each escalation window). Arming
one writes the time with a new token and, when it is within WORKFLOW_QUEUE_AHEAD_SECONDS, sends
a countdown task carrying that token after the commit; one further ahead waits for the sweep to
send its task when it comes near (deadlines._queue_near). A step due at once inside
`steps_queued` is not armed at all: it runs in the transaction in hand (steps.steps_inline).

Every step kind and the run's progress arm times, and deadlines.py acts on them by running
those steps, so arming sits below both, here.
"""

import logging
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coordination.workflows.models import Acknowledgement, StepRun, StepState

logger = logging.getLogger("liandong.workflows")

EXECUTE_STEP_TASK = "coordination.workflows.tasks.execute_step"
CHECK_ACKNOWLEDGEMENT_TASK = "coordination.workflows.tasks.check_acknowledgement"

# Steps that the work in hand makes due at once (the next step of a plan, a re-armed one) run
# in the same transaction, each in a savepoint, rather than through a task each: a burst of
# immediate steps is one commit and one dispatch request, not a dozen.
_inline: ContextVar[list | None] = ContextVar("workflow_inline_steps", default=None)
INLINE_STEPS = 25


@contextmanager
def steps_queued():
    """Steps made due at once inside the block are queued (yielded) instead of being sent a
    task; the caller runs them before its transaction commits (steps.steps_inline)."""
    token = _inline.set([])
    try:
        yield _inline.get()
    finally:
        _inline.reset(token)


def scaled(seconds: float) -> timedelta:
    """A playbook duration as it runs here (DEADLINE_SCALE: drills and tests run faster)."""
    return timedelta(seconds=seconds * settings.DEADLINE_SCALE)


def send_task(task: str, args: list, *, due_at: datetime | None, token: uuid.UUID) -> None:
    """Enqueue after commit. Never raises: with the broker down the row stays due and the
    sweep does it when the broker (or beat) is back."""

    def send():
        countdown = 0.0 if due_at is None else max(0.0, (due_at - timezone.now()).total_seconds())
        try:
            current_app.send_task(task, args=args, countdown=countdown, task_id=str(token))
        except Exception as exc:  # the row is the record; the sweep picks it up
            logger.warning("%s%s not enqueued (%s); the sweep will do it", task, args, exc)

    transaction.on_commit(send)


def _near(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and (due_at - now).total_seconds() <= settings.WORKFLOW_QUEUE_AHEAD_SECONDS


def schedule_step(step: StepRun, *, due_at: datetime | None, now: datetime, state: str = StepState.PENDING) -> None:
    """Make a step due at `due_at` (WAITING: waiting until then at most), with a new token.

    Inside steps_inline, a step due at once is not written as pending at all: it runs before
    the commit, in the same transaction, and is written once, when it is done.
    """
    step.state, step.due_at, step.token = state, due_at, uuid.uuid4()
    inline = _inline.get()
    if (inline is not None and len(inline) < INLINE_STEPS and state == StepState.PENDING
            and due_at is not None and due_at <= now):
        step.enqueued = False
        inline.append(step)
        return
    step.enqueued = _near(due_at, now)
    step.save(update_fields=["state", "due_at", "token", "enqueued", "outcome", "attempts"])
    if step.enqueued:
        send_task(EXECUTE_STEP_TASK, [step.pk, str(step.token)], due_at=due_at, token=step.token)


def schedule_check(ack: Acknowledgement, *, at: datetime | None, now: datetime) -> None:
    """Set an acknowledgement's next deadline check (None: no more) and queue its task."""
    set_check(ack, at=at, now=now)
    ack.save(update_fields=["next_check_at", "token", "enqueued"])
    send_checks([ack])


def set_check(ack: Acknowledgement, *, at: datetime | None, now: datetime) -> None:
    """Arm the request's next check on the object only: its caller saves it (with whatever else
    it changed) and sends it (send_checks)."""
    ack.next_check_at, ack.token = at, (uuid.uuid4() if at is not None else None)
    ack.enqueued = _near(at, now)


def send_checks(acks: Iterable[Acknowledgement]) -> None:
    """One task per deadline: requests asked together fall due together, and the task of one
    does every request of its run that is due (deadlines.acknowledgement_check)."""
    sent = set()
    for ack in acks:
        if ack.enqueued and (ack.run_id, ack.next_check_at) not in sent:
            sent.add((ack.run_id, ack.next_check_at))
            send_task(CHECK_ACKNOWLEDGEMENT_TASK, [str(ack.pk), str(ack.token)], due_at=ack.next_check_at,
                      token=ack.token)
