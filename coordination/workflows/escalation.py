"""The escalation chain: who hears of a jurisdiction's silence, stage by stage.

A run freezes its cluster's chain when it starts (`freeze_chain`: later registry edits do not
change a run under way). Above a jurisdiction the chain has, in order: its own duty officers;
the lead city of its metropolitan circle (skipped for the lead itself, or a jurisdiction in no
circle); the cluster committee (`chain_stages`). Each stage raised is an Escalation row, an
event and a timeline entry (`raise_escalation`), once per stage.

Two things raise stages: an `escalate` step (the reporter's chain, `escalate_step`), and an
acknowledgement request left unanswered (`escalate_acknowledgement`, when deadlines.py finds its
deadline or escalation window past). A stage that is another jurisdiction is asked to
acknowledge in the silent one's place; either answering ends the chain
(services.acknowledgement_acknowledge).
"""

from datetime import datetime

from coordination.models import CoordinationBody, CoordinationBodyKind, Jurisdiction
from coordination.services import audit_record
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
from coordination.workflows.timeline import Note, timeline_note


def freeze_chain(cluster: str) -> dict:
    """The escalation chain in force for a cluster: each member's circle lead, and the
    committee. Frozen onto a run when it starts (later registry edits do not change it)."""
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
    }


def chain_stages(chain: dict, code: str) -> list[tuple[str, str | None, str | None]]:
    """(target, jurisdiction, body) for each stage above `code`: its own duty officers, the
    lead city of its metropolitan circle (skipped when it is the lead or has no circle), the
    cluster committee."""
    stages: list[tuple[str, str | None, str | None]] = [(EscalationTarget.DUTY_OFFICERS, code, None)]
    lead = chain.get("circle_leads", {}).get(code)
    if lead and lead != code:
        stages.append((EscalationTarget.CIRCLE_LEAD, lead, None))
    committee = chain.get("committee")
    if committee:
        stages.append((EscalationTarget.COMMITTEE, committee.get("convener"), committee["code"]))
    return stages


def _stage_concerns(chain: dict, target: str, jurisdiction: str | None) -> set[str]:
    if target == EscalationTarget.COMMITTEE:
        return set((chain.get("committee") or {}).get("members", ())) | ({jurisdiction} if jurisdiction else set())
    return {jurisdiction} if jurisdiction else set()


def raise_escalation(*, run: WorkflowRun, stage: int, target: str, jurisdiction: str | None, body: str | None,
                     subject_jurisdiction: str, reason: str | Note, now: datetime,
                     acknowledgement: Acknowledgement | None = None, step: StepRun | None = None) -> Escalation:
    """`reason`: a playbook author's words, or a Note (the escalation row keeps its English)."""
    concerns = _stage_concerns(run.chain, target, jurisdiction) | {subject_jurisdiction}
    escalation = Escalation.objects.create(
        run=run, incident=run.incident, acknowledgement=acknowledgement, step=step, stage=stage,
        subject_jurisdiction=subject_jurisdiction, target=target, target_jurisdiction_id=jurisdiction,
        target_body_id=body, jurisdictions=as_codes(concerns), reason=str(reason), raised_at=now,
    )
    concern(run, concerns)
    emit("escalation.raised", subject=subject(run.incident, type="escalation", id=str(escalation.id),
                                              concerned={*from_codes(run.concerned), *concerns}),
         payload=payloads.escalation_data(escalation))
    whom = {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}
    timeline_note(incident=run.incident_id, at=now,
                  note=Note(f"escalation.{target}", {**whom, "stage": stage, "reason": reason}))
    audit_record(actor=None, action="escalation.raised", object_type="escalation", object_id=str(escalation.id),
                 object_jurisdiction=run.incident.owner,
                 detail={"incident": run.incident_id, "target": target, "jurisdiction": jurisdiction, "body": body})
    return escalation


def escalate_step(run, step, spec, now) -> str:
    """The `escalate` step: the next stage of the reporter's chain, or the stage it names."""
    owner = run.incident.owner
    stages = chain_stages(run.chain, owner)
    if spec.to == "next":
        index = run.escalation_stage
    else:
        index = next((i for i, stage in enumerate(stages) if stage[0] == spec.to), None)
    if index is None or index >= len(stages):
        return finish(run, step, now, state=StepState.DONE,
                      outcome={"escalated": False, "reason": f"no {spec.to} stage above {owner} in the chain"},
                      note=Note("step.nothing_to_escalate", {"step": step.step_id}))
    target, jurisdiction, body = stages[index]
    reason = spec.reason or Note("reason.playbook_level", {"playbook": run.playbook.code, "level": run.incident.level})
    escalation = raise_escalation(run=run, stage=index + 1, target=target, jurisdiction=jurisdiction, body=body,
                                  subject_jurisdiction=owner, reason=reason, now=now, step=step)
    run.escalation_stage = max(run.escalation_stage, index + 1)
    run.save(update_fields=["escalation_stage"])
    return finish(run, step, now, state=StepState.DONE,
                  outcome={"escalated": True, "escalation": str(escalation.id), "target": target,
                           "jurisdiction": jurisdiction, "body": body},
                  note=Note(f"step.escalated_{target}",
                            {"body": body} if target == EscalationTarget.COMMITTEE else {"jurisdiction": jurisdiction}),
                  concerned=from_codes(escalation.jurisdictions))


def escalate_acknowledgement(run: WorkflowRun, ack: Acknowledgement, *, answer_by: datetime, now: datetime) -> bool:
    """Raise the next stage of an unanswered request's chain (`ack.stage` counts them; the
    caller saves it). A stage that is another jurisdiction is asked to acknowledge in its
    place by `answer_by`. Whether a stage is left to raise after this one."""
    stages = chain_stages(run.chain, ack.jurisdiction_id)
    if ack.stage >= len(stages):
        return False
    target, jurisdiction, body = stages[ack.stage]
    ack.stage += 1
    raise_escalation(run=run, stage=ack.stage, target=target, jurisdiction=jurisdiction, body=body,
                     subject_jurisdiction=ack.jurisdiction_id, acknowledgement=ack, now=now,
                     reason=Note("reason.not_acknowledged", {
                         "jurisdiction": ack.jurisdiction_id,
                         "asked_at": payloads.at(ack.requested_at, run.incident.cluster)}))
    if target != EscalationTarget.DUTY_OFFICERS and jurisdiction and jurisdiction != ack.jurisdiction_id:
        _ask_in_place(run, ack, jurisdiction, due=answer_by, now=now)
    return ack.stage < len(stages)


def _ask_in_place(run: WorkflowRun, ack: Acknowledgement, code: str, *, due: datetime, now: datetime) -> None:
    if Acknowledgement.objects.filter(escalation_of=ack, jurisdiction_id=code).exists():
        return
    child = Acknowledgement.objects.create(run=run, step=ack.step, incident=run.incident, jurisdiction_id=code,
                                           escalation_of=ack, level=ack.level, requested_at=now, due_at=due)
    emit("acknowledgement.requested", subject=ack_subject(child, run),
         payload=payloads.acknowledgement_data(child))
