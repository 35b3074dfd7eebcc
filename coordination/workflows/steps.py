"""Executing a run's steps: what each kind of step does (definitions.Step), the table that picks
it (PERFORMERS), and running the steps that fall due together in one transaction.

A step that falls due is performed once, inside the engine's transaction, with the run locked
and the step claimed (deadlines.py says how): skipped when its `when` does not hold, else done
by its kind's performer, which ends it through runs.finish (or leaves it waiting). Performers
of the simple kinds are here; the escalation chain's (`escalate`) is in escalation.py, joint
command's and meetings' in joint_command.py.
"""

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction

from config.errors import ApplicationError
from coordination.audit import audit_record
from coordination.notify.services import notify_for_acknowledgement
from coordination.principals import Principal
from coordination.registry import registry
from coordination.roles import Scope
from coordination.workflows import payloads
from coordination.workflows.definitions import duration_seconds
from coordination.workflows.escalation import escalate_step
from coordination.workflows.events import ack_subject, emit, event_batch
from coordination.workflows.joint_command import convene_meeting_step, open_joint_command_step
from coordination.workflows.models import Acknowledgement, AckStatus, IncidentFacts, StepRun, StepState, WorkflowRun
from coordination.workflows.runs import ENGINE, advance, concern, finish, spec_of, wait_for
from coordination.workflows.texts import localized
from coordination.workflows.timeline import Note, default_name, timeline_note
from coordination.workflows.timers import EXECUTE_STEP_TASK, scaled, send_checks, send_task, set_check, steps_queued
from sharing.models import LEVEL_RANK

logger = logging.getLogger("liandong.workflows")


def holds(condition: dict | None, facts: IncidentFacts) -> bool:
    """A step's `when` (or a wait's facts condition) against the incident as it is now."""
    if not condition:
        return True
    level = condition.get("level_at_least")
    if level and (not facts.level or LEVEL_RANK[facts.level] > LEVEL_RANK[level]):
        return False
    if condition.get("cross_border") is not None and facts.cross_border != condition["cross_border"]:
        return False
    if condition.get("min_affected") and len(facts.affected_codes) < condition["min_affected"]:
        return False
    statuses = condition.get("statuses")
    return not statuses or facts.status in statuses


def addressees(names: Iterable[str], facts: IncidentFacts, chain: dict) -> set[str]:
    """Who a notify, request_ack or request_resources step addresses (definitions.Audience). Not
    sharing.visibility.audience, which is who may see an event."""
    ctx = registry()
    affected = set(facts.affected_codes)
    found: set[str] = set()
    for name in names:
        if name == "affected":
            found |= affected
        elif name == "neighbours":
            for code in affected:
                found |= ctx.neighbours.get(code, frozenset()) - affected
        elif name == "core_cities":
            found |= ctx.cores.get(facts.cluster, frozenset())
        elif name == "cluster":
            found |= ctx.members.get(facts.cluster, frozenset())
        elif name == "circle_lead":
            found |= {lead for code in affected if (lead := chain.get("circle_leads", {}).get(code))}
    return found - {facts.owner, ""}


# --- performers ----------------------------------------------------------------------------------


def _notify(run, step, spec, now) -> str:
    recipients = sorted(addressees(spec.to, run.incident, run.chain))
    concern(run, recipients)
    note = Note("step.notified", {"jurisdictions": recipients}) if recipients else Note("step.notified_nobody")
    return finish(run, step, now, state=StepState.DONE, outcome={"notified": recipients, "message": spec.message},
                  note=note, concerned=recipients)


def ask(run: WorkflowRun, step: StepRun, spec, codes: Iterable[str], now: datetime) -> list[Acknowledgement]:
    facts = run.incident
    level = facts.level or "IV"
    due = now + scaled(spec.deadline.seconds(level))
    asked = []
    for code in sorted(codes):
        ack = Acknowledgement(run=run, step=step, incident=facts, jurisdiction_id=code, level=level,
                              requested_at=now, due_at=due)
        set_check(ack, at=due, now=now)
        ack.save(force_insert=True)
        emit("acknowledgement.requested", subject=ack_subject(ack, run), payload=payloads.acknowledgement_data(ack))
        notify_for_acknowledgement(ack, now=now)  # its people reached, in this transaction (the outbox)
        asked.append(ack)
    send_checks(asked)
    return asked


def _request_ack(run, step, spec, now) -> str:
    codes = sorted(addressees(spec.from_, run.incident, run.chain))
    concern(run, codes)
    asked = ask(run, step, spec, codes, now)
    due = payloads.at(asked[0].due_at, run.incident.cluster) if asked else None
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"asked": codes, "due_at": due, "acknowledgements": [str(ack.id) for ack in asked]},
                  note=Note("step.asked", {"jurisdictions": codes, "due": due}) if asked else Note("step.asked_nobody"),
                  concerned=codes)


def _request_resources(run, step, spec, now) -> str:
    """A mutual-aid request on the reporting jurisdiction's behalf, from the playbook's template
    (sharing.mutualaid decides whom it reaches). A refusal (the incident closed meanwhile, no
    one to ask) is the step's outcome, not a failure to retry."""
    facts = run.incident
    needed_by = now + scaled(duration_seconds(spec.needed_within))
    outcome = {"resource_type": spec.resource_type, "quantity": spec.quantity,
               "needed_by": payloads.at(needed_by, facts.cluster), "requester": facts.owner}
    try:
        request = _mutual_aid_request(run, spec, needed_by)
    except ApplicationError as exc:
        outcome.update(resource_request=None, refused=exc.detail)
        note = Note("step.aid_not_requested", {"quantity": spec.quantity, "resource_type": spec.resource_type,
                                                "detail": exc.detail})
    else:
        outcome.update(resource_request=str(request.pk))
        note = Note("step.aid_requested", {"requester": facts.owner, "quantity": spec.quantity,
                                            "resource_type": spec.resource_type})
    return finish(run, step, now, state=StepState.DONE, outcome=outcome, note=note)


def _acting_for(run: WorkflowRun, scope: Scope) -> Principal:
    """The plan acting for the reporting jurisdiction, within one scope only, under the
    engine's name (the audit log and what it writes say so)."""
    facts = run.incident
    return Principal(kind="client", label=f"{ENGINE} ({run.playbook.code})", jurisdiction=facts.owner,
                     clusters=(facts.cluster,) if facts.cluster else (), scopes=(scope.value,))


def _mutual_aid_request(run: WorkflowRun, spec, needed_by: datetime):
    """The one call into mutual aid."""
    from sharing.mutualaid.services.requests import resource_request_create

    facts = run.incident
    with transaction.atomic():
        return resource_request_create(actor=_acting_for(run, Scope.RESOURCES_WRITE), data={
            "incident": facts.public_id, "resource_type": spec.resource_type, "quantity": spec.quantity,
            "needed_by": needed_by,
            "description": spec.description or default_name("aid_description", playbook=run.playbook.code),
        })


def _publish_alert(run, step, spec, now) -> str:
    """Drafts the public alert for the reporting jurisdiction and waits for one of its
    commanders to approve it (here: POST …/approve/, or the alerts API); the run goes on
    meanwhile. A draft the alerts app refuses (the incident closed) is the step's outcome.
    An alert the reporting jurisdiction already issued by hand for the incident is the
    playbook's alert: no second one is drafted (one flood, one alert)."""
    issued = alert_issued_by_hand(run, step)
    if issued is not None:
        return step_satisfied_by(run=run, step=step, alert=issued, now=now)
    try:
        alert = _alert_draft(run, spec)
    except ApplicationError as exc:
        return finish(run, step, now, state=StepState.DONE, outcome={"alert": None, "refused": exc.detail},
                      note=Note("step.alert_not_drafted", {"detail": exc.detail}))
    until = now + scaled(duration_seconds(spec.approval_timeout)) if spec.approval_timeout else None
    wait_for(run, step, now, until=until, outcome={"awaiting": "approval", "approver": run.incident.owner,
                                                   "alert": str(alert.pk), "headline": spec.headline})
    advance(run, step, now)
    return "waiting"


def _alert_draft(run: WorkflowRun, spec):
    """The one call into the alerts app's drafting; approving is the commander's."""
    from incidents.alerts.issuing import alert_draft
    from incidents.alerts.languages import traditional_languages

    info = []
    if spec.headline or spec.instruction:
        # A playbook's wording in three languages makes a zh-CN block (Simplified, as our own
        # alerts are) and an en-US one, and the zh-HK/zh-MO block Hong Kong or Macao reads when
        # it reports or is affected and the playbook wrote Traditional (its author's, checked by
        # hand: no machine conversion here); a plain string stays one en-US block, as written.
        bilingual = isinstance(spec.headline, dict) or isinstance(spec.instruction, dict)
        languages = ["zh-CN", "en-US"] if bilingual else ["en-US"]
        if bilingual and "zh-hant" in (spec.headline if isinstance(spec.headline, dict) else {}):
            facts = run.incident
            languages[1:1] = traditional_languages([facts.owner, *facts.affected_codes])
        for language in languages:
            info.append({"language": language, "headline": localized(spec.headline, language),
                         "instruction": localized(spec.instruction, language)})
    with transaction.atomic():
        return alert_draft(actor=_acting_for(run, Scope.ALERTS_WRITE), incident=run.incident_id, data={"info": info})


def _wait(run, step, spec, now) -> str:
    if spec.duration is not None:
        return finish(run, step, now, state=StepState.DONE, outcome={"waited": spec.duration},
                      note=Note("step.waited", {"duration": spec.duration}))
    if wait_condition_holds(run, spec.until.model_dump(exclude_none=True)):
        return finish(run, step, now, state=StepState.DONE, outcome={"condition_met": True},
                      note=Note("step.condition_holds", {"step": step.step_id}))
    until = now + scaled(duration_seconds(spec.timeout)) if spec.timeout else None
    wait_for(run, step, now, until=until, outcome={"waiting_for": spec.until.model_dump(exclude_none=True)})
    return "waiting"


def wait_condition_holds(run: WorkflowRun, until: dict) -> bool:
    condition = dict(until)
    if condition.pop("all_acknowledged", None) and run.acknowledgements.filter(
            status=AckStatus.PENDING, escalation_of__isnull=True).exists():
        return False
    return holds(condition, run.incident)


PERFORMERS = {
    "notify": _notify,
    "request_ack": _request_ack,
    "escalate": escalate_step,
    "open_joint_command": open_joint_command_step,
    "convene_meeting": convene_meeting_step,
    "request_resources": _request_resources,
    "publish_alert": _publish_alert,
    "wait": _wait,
}


def alert_issued_by(alert_id: str | None) -> str | None:
    """Who approved the drafted alert, once it is issued (None while it is a draft)."""
    from incidents.alerts.models import Alert

    if not alert_id:
        return None
    row = Alert.objects.filter(pk=alert_id).exclude(approved_by="").values_list("approved_by", flat=True)
    return next(iter(row), None)


def alert_name(alert) -> dict[str, str]:
    """An alert's headline as a {"zh": …, "en": …} pair (a timeline reader picks its own
    language), from its info blocks; its identifier when it has no headline."""
    names: dict[str, str] = {}
    for info in alert.infos.all():
        language = (info.language or "").lower()
        key = "zh" if language.startswith("zh") else "en" if language.startswith("en") else ""
        if key and key not in names:
            names[key] = info.headline or info.event or alert.identifier
    fallback = names.get("zh") or names.get("en") or alert.identifier
    return {"zh": names.get("zh") or fallback, "en": names.get("en") or fallback}


def alert_issued_by_hand(run: WorkflowRun, step: StepRun):
    """The newest alert issued (active, not expired) about the run's incident that is not the
    step's own draft: one an officer issued by hand stands for the playbook's alert."""
    from incidents.alerts.models import Alert, AlertState
    from incidents.alerts.selectors import state_q

    own = step.outcome.get("alert")
    alerts = (Alert.objects.filter(state_q(AlertState.ACTIVE), incident__public_id=run.incident_id)
              .exclude(approved_by="").prefetch_related("infos").order_by("-received_at", "-id"))
    if own:
        alerts = alerts.exclude(pk=own)
    return alerts.first()


def discard_draft(alert_id: str | None):
    """The step's own draft, deleted if it is still a draft (never issued: it was seen by its
    owner alone, so nothing public is withdrawn); the deleted alert, or None."""
    from incidents.alerts.models import Alert, AlertState

    if not alert_id:
        return None
    draft = Alert.objects.select_for_update(no_key=True, of=("self",)).filter(
        pk=alert_id, state=AlertState.DRAFT).first()
    if draft is None:
        return None
    draft.name, draft.discarded_id = alert_name(draft), str(draft.pk)  # delete() forgets the pk
    audit_record(actor=None, action="alert.discarded", object_type="alert", object_id=str(draft.pk),
                 object_jurisdiction=draft.owner_id, detail={"identifier": draft.identifier})
    draft.delete()
    return draft


def step_satisfied_by(*, run: WorkflowRun, step: StepRun, alert, now: datetime) -> str:
    """A publish_alert step (due or waiting) completed by an alert issued by hand: its outcome
    names that alert, and its own draft, if any, is discarded."""
    discarded = discard_draft(step.outcome.get("alert"))
    by = alert.approved_by or alert.sender
    params = {"alert": alert_name(alert), "by": by}
    outcome = {**step.outcome, "awaiting": None, "approved": True, "approved_by": by, "alert": str(alert.pk),
               "issued_by_hand": True, "discarded_draft": discarded.discarded_id if discarded else None}
    note = Note("step.alert_issued_by_hand_draft_discarded" if discarded else "step.alert_issued_by_hand", params)
    return finish(run, step, now, state=StepState.DONE, outcome=outcome, note=note,
                  blocking=step.state != StepState.WAITING)


def drafts_discarded(run: WorkflowRun, *, status: str, now: datetime) -> None:
    """The incident is over: the drafts its waiting publish_alert steps made are discarded,
    not issued (run_end then cancels the steps), each with a timeline line."""
    for step in [row for row in run.steps.filter(kind="publish_alert", state=StepState.WAITING)]:
        discarded = discard_draft(step.outcome.get("alert"))
        if discarded is not None:
            step.outcome = {**step.outcome, "awaiting": None, "discarded_draft": discarded.discarded_id}
            step.save(update_fields=["outcome"])
            timeline_note(incident=run.incident_id, at=now, note=Note("step.alert_draft_discarded", {
                "playbook": run.playbook.code, "alert": discarded.name, "status": status}))


def step_approve(*, run: WorkflowRun, step: StepRun, by: str, alert: str | None, now: datetime) -> None:
    """A commander approved a waiting publish_alert step (services.workflow_step_approve)."""
    finish(run, step, now, state=StepState.DONE,
           outcome={**step.outcome, "awaiting": None, "approved": True, "approved_by": by, "alert": alert},
           note=Note("step.alert_published", {"by": by, "alert": alert}) if alert
           else Note("step.alert_approved", {"by": by}), blocking=False)


# --- performing ------------------------------------------------------------------------------------


def perform(run: WorkflowRun, step: StepRun, now: datetime) -> str:
    """Do a pending step: skipped when its `when` does not hold now, else its kind's performer."""
    spec = spec_of(run, step)
    facts = run.incident
    if not holds(spec.when.model_dump(exclude_none=True) if spec.when else None, facts):
        return finish(run, step, now, state=StepState.SKIPPED,
                      outcome={"reason": "condition not met", "level": facts.level},
                      note=Note("step.skipped", {"step": step.step_id}))
    return PERFORMERS[spec.kind](run, step, spec, now)


@contextmanager
def steps_inline(run: WorkflowRun, now: datetime):
    """Run the steps the block makes due at once, before the transaction commits."""
    with steps_queued() as queue:
        yield
        _run_inline(run, now, queue)


def _run_inline(run: WorkflowRun, now: datetime, queue: list[StepRun]) -> None:
    """Run the queued steps. No claim is needed: this transaction made them due and holds the
    run's lock, which every writer of a run's steps takes first."""
    events = event_batch()
    while queue:
        step = queue.pop(0)
        marks = (len(queue), len(events) if events is not None else 0)
        try:
            with transaction.atomic():
                step.attempts += 1
                perform(run, step, now)
        except Exception:
            # Undo what the failed step queued and emitted, and leave it to a task of its own,
            # which records the failure against it (and retries it) as usual.
            logger.exception("step %s failed (inline); handing it to its own task", step.pk)
            del queue[marks[0]:]
            if events is not None:
                del events[marks[1]:]
            run.refresh_from_db()
            run.__dict__.pop("_step_rows", None)
            StepRun.objects.filter(pk=step.pk).update(state=StepState.PENDING, due_at=now, token=step.token,
                                                      enqueued=True)
            send_task(EXECUTE_STEP_TASK, [step.pk, str(step.token)], due_at=now, token=step.token)
