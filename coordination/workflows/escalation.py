"""The escalation chain: who hears of a jurisdiction's silence, stage by stage.

A run freezes its cluster's chain when it starts (`freeze_chain`: later registry edits do not
change a run under way). Above a jurisdiction the chain has, in order: its own duty officers;
the lead city of its metropolitan circle (none for a jurisdiction in no circle); the cluster
committee, answered by its officers (coordination.bodies) and, when it has one, its convener
(`chain_stages`). Each stage raised is an Escalation row, an event and a timeline entry
(`raise_escalation`), once per stage.

Escalation goes up, never back: no stage asks the jurisdiction that reported the incident, or
the one whose silence is escalated, to answer in the silent one's place. `chain_stages` is the
one place that rule is applied: a circle lead that is either is skipped (the next stage comes
in its place), a convener that is either is dropped from the committee's stage (the body and
its officers remain). What was passed over, and why, is written on the timeline with the
stage that follows (`SKIP_NOTES`) and kept in the audit entry.

Two things raise stages: an `escalate` step (the reporter's chain, `escalate_step`), and an
acknowledgement request left unanswered (`escalate_acknowledgement`, when deadlines.py finds its
deadline or escalation window past). A stage that is another jurisdiction is asked to
acknowledge in the silent one's place; either answering ends the chain
(services.acknowledgement_acknowledge).
"""

from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from coordination.audit import audit_record
from coordination.models import CoordinationBody, CoordinationBodyKind, Jurisdiction
from coordination.notify.escalation import frozen_people
from coordination.notify.services import notify_for_acknowledgement, notify_for_body
from coordination.workflows import payloads
from coordination.workflows.events import ack_subject, emit, subject
from coordination.workflows.models import (
    Acknowledgement,
    Escalation,
    EscalationTarget,
    StepRun,
    StepState,
    WorkflowRun,
    as_codes,
    from_codes,
)
from coordination.workflows.runs import concern, finish
from coordination.workflows.texts import pair, plain
from coordination.workflows.timeline import Note, timeline_note
from sharing.services import address_to_body


def freeze_chain(cluster: str) -> dict:
    """The escalation chain in force for a cluster: each member's circle lead, the committee,
    and each member's people, wave by wave (coordination.notify.escalation.frozen_people: on
    duty now, then its head). Frozen onto a run when it starts (later registry and roster edits
    do not change it)."""
    leads = dict(Jurisdiction.objects.filter(clusters=cluster).values_list("code", "circle__lead_id"))
    committee = (CoordinationBody.objects.filter(cluster_id=cluster, kind=CoordinationBodyKind.COMMITTEE)
                 .order_by("code").first())
    return {
        "cluster": cluster,
        "circle_leads": {code: lead for code, lead in sorted(leads.items())},
        "committee": None if committee is None else {
            "code": committee.code,
            "convener": committee.convener_id,
            "members": sorted(committee.members.values_list("code", flat=True)),
        },
        "people": frozen_people(leads, at=timezone.now()),
    }


class Skip(NamedTuple):
    """A recipient the chain passed over: who, in which role, and why (a SKIP_NOTES key)."""

    target: str  # EscalationTarget.CIRCLE_LEAD, or COMMITTEE for its convener
    jurisdiction: str
    why: str  # "reporter": it reported the incident; "addressee": its own silence is escalated


class Stage(NamedTuple):
    target: str
    jurisdiction: str | None  # who is asked to answer in the silent one's place (or whose officers)
    body: str | None
    skipped: tuple[Skip, ...] = ()  # passed over on the way to this stage


# (target, why) -> the timeline note saying so (coordination.workflows.timeline.NOTES).
SKIP_NOTES = {
    (EscalationTarget.CIRCLE_LEAD, "reporter"): "escalation.skipped_circle_lead_reporter",
    (EscalationTarget.CIRCLE_LEAD, "addressee"): "escalation.skipped_circle_lead_addressee",
    (EscalationTarget.COMMITTEE, "reporter"): "escalation.skipped_convener_reporter",
    (EscalationTarget.COMMITTEE, "addressee"): "escalation.skipped_convener_addressee",
}


def chain_stages(chain: dict, code: str, *, reporter: str | None = None) -> list[Stage]:
    """The stages above `code`: its own duty officers, the lead city of its metropolitan
    circle, the cluster committee. Never `code` itself nor `reporter` (the jurisdiction that
    reported the incident) in another's place: such a circle lead is skipped, such a convener
    dropped from the committee's stage; each Skip rides on the next stage raised."""
    passed_over = {code, reporter} - {None}
    stages: list[Stage] = [Stage(EscalationTarget.DUTY_OFFICERS, code, None)]
    skipped: list[Skip] = []

    def why(jurisdiction: str) -> str:
        return "reporter" if jurisdiction == reporter else "addressee"

    lead = chain.get("circle_leads", {}).get(code)
    if lead in passed_over:
        skipped.append(Skip(EscalationTarget.CIRCLE_LEAD, lead, why(lead)))
    elif lead:
        stages.append(Stage(EscalationTarget.CIRCLE_LEAD, lead, None))
    committee = chain.get("committee")
    if committee:
        convener = committee.get("convener")
        if convener in passed_over:
            skipped.append(Skip(EscalationTarget.COMMITTEE, convener, why(convener)))
            convener = None
        stages.append(Stage(EscalationTarget.COMMITTEE, convener, committee["code"], tuple(skipped)))
    return stages


def skip_note(skip: Skip, *, body: str | None) -> Note:
    params = {"jurisdiction": skip.jurisdiction}
    if skip.target == EscalationTarget.COMMITTEE:
        params["body"] = body
    return Note(SKIP_NOTES[(skip.target, skip.why)], params)


def _stage_concerns(chain: dict, target: str, jurisdiction: str | None) -> set[str]:
    if target == EscalationTarget.COMMITTEE:
        return set((chain.get("committee") or {}).get("members", ())) | ({jurisdiction} if jurisdiction else set())
    return {jurisdiction} if jurisdiction else set()


def raise_escalation(*, run: WorkflowRun, stage: int, target: str, jurisdiction: str | None, body: str | None,
                     subject_jurisdiction: str, reason: str | Note, now: datetime,
                     acknowledgement: Acknowledgement | None = None, step: StepRun | None = None,
                     skipped: tuple[Skip, ...] = ()) -> Escalation:
    """`reason`: a playbook author's words (maybe in three languages, texts.py), or a Note (the
    escalation row keeps its English).
    `skipped`: who the chain passed over to reach this stage, each written on the timeline
    before the escalation itself."""
    concerns = _stage_concerns(run.chain, target, jurisdiction) | {subject_jurisdiction}
    escalation = Escalation.objects.create(
        run=run, incident=run.incident, acknowledgement=acknowledgement, step=step, stage=stage,
        subject_jurisdiction=subject_jurisdiction, target=target, target_jurisdiction_id=jurisdiction,
        target_body_id=body, jurisdictions=as_codes(concerns), reason=plain(reason), raised_at=now,
    )
    concern(run, concerns)
    if body:
        # The body's seated officers are now concerned by the incident (its list, page, events):
        # recorded where the visibility rule reads it, in this transaction.
        address_to_body(incident=run.incident_id, body=body, at=now)
    emit("escalation.raised", subject=subject(run.incident, type="escalation", id=str(escalation.id),
                                              concerned={*from_codes(run.concerned), *concerns}),
         payload=payloads.escalation_data(escalation))
    whom = {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}
    for skip in skipped:
        timeline_note(incident=run.incident_id, at=now, note=skip_note(skip, body=body))
    timeline_note(incident=run.incident_id, at=now,
                  note=Note(f"escalation.{target}", {**whom, "stage": stage, "reason": pair(reason)}))
    audit_record(actor=None, action="escalation.raised", object_type="escalation", object_id=str(escalation.id),
                 object_jurisdiction=run.incident.owner,
                 detail={"incident": run.incident_id, "target": target, "jurisdiction": jurisdiction, "body": body,
                         "skipped": [skip._asdict() for skip in skipped]})
    return escalation


def escalate_step(run, step, spec, now) -> str:
    """The `escalate` step: the next stage of the reporter's chain, or the stage it names."""
    owner = run.incident.owner
    stages = chain_stages(run.chain, owner, reporter=owner)
    if spec.to == "next":
        index = run.escalation_stage
    else:
        index = next((i for i, stage in enumerate(stages) if stage[0] == spec.to), None)
    if index is None or index >= len(stages):
        return finish(run, step, now, state=StepState.DONE,
                      outcome={"escalated": False, "reason": f"no {spec.to} stage above {owner} in the chain"},
                      note=Note("step.nothing_to_escalate", {"step": step.step_id}))
    target, jurisdiction, body, skipped = stages[index]
    if spec.to != "next":
        skipped = ()  # a step that names its stage passed nobody over on the way
    reason = spec.reason or Note("reason.playbook_level", {"playbook": run.playbook.code, "level": run.incident.level})
    escalation = raise_escalation(run=run, stage=index + 1, target=target, jurisdiction=jurisdiction, body=body,
                                  subject_jurisdiction=owner, reason=reason, now=now, step=step, skipped=skipped)
    run.escalation_stage = max(run.escalation_stage, index + 1)
    run.save(update_fields=["escalation_stage"])
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"escalated": True, "escalation": str(escalation.id), "target": target,
                           "jurisdiction": jurisdiction, "body": body,
                           **({"skipped": [skip._asdict() for skip in skipped]} if skipped else {})},
                  note=Note(f"step.escalated_{target}",
                            {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}),
                  concerned=from_codes(escalation.jurisdictions))


def escalate_acknowledgement(run: WorkflowRun, ack: Acknowledgement, *, answer_by: datetime, now: datetime) -> bool:
    """Raise the next stage of an unanswered request's chain (`ack.stage` counts them; the
    caller saves it). A stage that is another jurisdiction is asked to acknowledge in its
    place by `answer_by`. Whether a stage is left to raise after this one."""
    stages = chain_stages(run.chain, ack.jurisdiction_id, reporter=run.incident.owner)
    if ack.stage >= len(stages):
        return False
    target, jurisdiction, body, skipped = stages[ack.stage]
    ack.stage += 1
    raise_escalation(run=run, stage=ack.stage, target=target, jurisdiction=jurisdiction, body=body,
                     subject_jurisdiction=ack.jurisdiction_id, acknowledgement=ack, now=now, skipped=skipped,
                     reason=Note("reason.not_acknowledged", {
                         "jurisdiction": ack.jurisdiction_id,
                         "asked_at": payloads.at(ack.requested_at, run.incident.cluster)}))
    if target != EscalationTarget.DUTY_OFFICERS and jurisdiction and jurisdiction != ack.jurisdiction_id:
        _ask_in_place(run, ack, jurisdiction, due=answer_by, now=now)
    if target == EscalationTarget.COMMITTEE and body:
        # The request is now owed by the body too: asked of its seated officers by an event that
        # names it (their inbox and stream show it), and their people are reached, as the
        # convener's are.
        emit("acknowledgement.requested", subject=ack_subject(ack, run),
             payload=payloads.acknowledgement_data(ack, for_body=body))
        notify_for_body(ack, body=body, now=now)
    return ack.stage < len(stages)


def _ask_in_place(run: WorkflowRun, ack: Acknowledgement, code: str, *, due: datetime, now: datetime) -> None:
    if Acknowledgement.objects.filter(escalation_of=ack, jurisdiction_id=code).exists():
        return
    child = Acknowledgement.objects.create(run=run, step=ack.step, incident=run.incident, jurisdiction_id=code,
                                           escalation_of=ack, level=ack.level, requested_at=now, due_at=due)
    emit("acknowledgement.requested", subject=ack_subject(child, run),
         payload=payloads.acknowledgement_data(child))
    notify_for_acknowledgement(child, now=now)
