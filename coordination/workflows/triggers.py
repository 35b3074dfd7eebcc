"""How incident events reach the playbook engine: the incident's facts kept, runs started for
the playbooks whose trigger they match, and runs whose facts changed marked to catch up.

`on_events` is a deliverer of the event dispatcher (sharing.dispatch): it receives events in
seq order, inside the dispatch transaction, and may see a batch again (a dispatcher killed
before its commit). Facts are applied newest-version-wins and runs are unique per incident and
playbook, so a second delivery changes nothing. It only writes rows; the tasks it asks for
(a run's first step, reconciling a run) are sent after the commit.
"""

import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from coordination.workflows.escalation import freeze_chain
from coordination.workflows.events import event_batch, events_batched
from coordination.workflows.joint_command import command_closed_with_incident
from coordination.workflows.models import (
    LIVE_RUN_STATES,
    IncidentFacts,
    Playbook,
    StepRun,
    StepState,
    WorkflowRun,
    as_codes,
)
from coordination.workflows.reconcile import request_reconcile
from coordination.workflows.runs import ENGINE, run_start
from coordination.workflows.steps import alert_name, holds
from coordination.workflows.timeline import Note, timeline_note
from incidents.lifecycle import CLOSED_STATUSES

logger = logging.getLogger("liandong.workflows")

INCIDENT_EVENTS = frozenset({"incident.created", "incident.updated", "incident.status_changed"})

# An alert a publish_alert step drafted may be approved through the alerts API too.
ALERT_ISSUED = "alert.issued"


def trigger_matches(trigger: dict, facts: IncidentFacts) -> bool:
    if facts.status in CLOSED_STATUSES or not facts.level:
        return False
    if trigger.get("categories") and facts.category not in trigger["categories"]:
        return False
    if trigger.get("types") and facts.type not in trigger["types"]:
        return False
    if trigger.get("clusters") and facts.cluster not in trigger["clusters"]:
        return False
    return holds({"level_at_least": trigger.get("level_at_least", "IV"), "cross_border": trigger.get("cross_border"),
                  "min_affected": trigger.get("min_affected", 1)}, facts)


def on_events(events: list) -> None:
    """Deliverer for sharing.dispatch: react to incident events (created, updated, status
    changed) and to alerts issued. One event that cannot be applied is logged and skipped,
    never allowed to stop the dispatch of everything else."""
    issued = [event for event in events if event.name == ALERT_ISSUED]
    _alerts_issued([event.payload["id"] for event in issued],
                   incidents=[event.payload["incident"] for event in issued if event.payload.get("incident")])
    relevant = [event for event in events if event.name in INCIDENT_EVENTS]
    if not relevant:
        return
    playbooks = list(Playbook.objects.filter(is_active=True).order_by("code"))
    chains: dict[str, dict] = {}
    for event in relevant:
        try:
            with transaction.atomic(), events_batched():
                _apply_incident_event(event, playbooks=playbooks, chains=chains)
        except Exception:
            logger.exception("playbook engine could not apply %s #%s (%s)", event.name, event.seq, event.subject_id)


def _alerts_issued(alert_ids: list[str], *, incidents: list[str] = ()) -> None:
    """Runs whose waiting publish_alert step drafted one of these alerts, or whose incident
    one of them is about (an alert issued by hand stands for the playbook's, reconcile.py),
    are reconciled (the version bump keeps that durable: the sweep reconciles runs behind
    their version)."""
    if not alert_ids:
        return
    waiting = StepRun.objects.filter(kind="publish_alert", state=StepState.WAITING)
    runs = set(waiting.filter(Q(outcome__alert__in=alert_ids) | Q(run__incident_id__in=list(incidents)))
               .values_list("run_id", flat=True))
    if runs:
        WorkflowRun.objects.filter(pk__in=runs).update(facts_version=F("facts_version") + 1)
        request_reconcile(runs)


def incident_closed(facts: IncidentFacts, *, now) -> None:
    """The incident was closed or cancelled: end what it opened, each by its own rule, once
    (the facts' version makes a redelivered event a no-op). Its runs end through reconcile
    (the version bump above: drafts discarded, acknowledgements withdrawn); here its joint
    command closes (joint_command.py), its open mutual-aid requests are withdrawn
    (sharing.mutualaid, what is lent stays out) and the timeline says which issued alerts are
    still active: an all-clear is a public message its sender decides, never sent silently.
    A part that fails is logged and does not undo the others or the facts."""
    batch = event_batch()
    for name, part in (("joint command", command_closed_with_incident), ("mutual aid", _aid_closed),
                       ("alerts", _alerts_left_active)):
        mark = len(batch) if batch is not None else 0
        try:
            with transaction.atomic():
                part(facts, now=now)
        except Exception:
            if batch is not None:
                del batch[mark:]  # the part's batched events go with its rolled-back rows
            logger.exception("closing %s: %s could not be ended", facts.public_id, name)


def _aid_closed(facts: IncidentFacts, *, now) -> None:
    """The one call into mutual aid: withdraw what is open, report what is still lent."""
    from sharing.mutualaid.services.requests import requests_closed_with_incident

    closed = requests_closed_with_incident(incident=facts.public_id, by=ENGINE, now=now)
    if closed.withdrawn:
        timeline_note(incident=facts.public_id, at=now, note=Note("closing.aid_withdrawn", {
            "status": facts.status, "requests": [Note("closing.aid_request", {
                "quantity": row["quantity"], "resource_type": row["resource_type"], "requester": row["requester"]})
                for row in closed.withdrawn]}))
    if closed.still_out:
        timeline_note(incident=facts.public_id, at=now, note=Note("closing.aid_still_out", {
            "status": facts.status, "items": [Note("closing.aid_lent", {
                "quantity": row["quantity"], "resource_type": row["resource_type"], "jurisdiction": row["supplier"]})
                for row in closed.still_out]}))


def _alerts_left_active(facts: IncidentFacts, *, now) -> None:
    from incidents.alerts.models import Alert, AlertState
    from incidents.alerts.selectors import state_q

    active = list(Alert.objects.filter(state_q(AlertState.ACTIVE), incident__public_id=facts.public_id)
                  .prefetch_related("infos").order_by("received_at", "id"))
    if active:
        timeline_note(incident=facts.public_id, at=now, note=Note("closing.alerts_active", {
            "status": facts.status, "alerts": [alert_name(alert) for alert in active]}))


def _facts_from(event, current: IncidentFacts | None) -> dict:
    data = event.payload
    values = {
        "title": data.get("title", current.title if current else ""),
        "category": data.get("category", current.category if current else event.category),
        "level": data.get("level", current.level if current else event.level),
        "status": data.get("status", current.status if current else ""),
        "exercise": bool(data.get("exercise", current.exercise if current else event.exercise)),
        "version": int(data.get("version", 0)),
    }
    if event.name == "incident.status_changed":
        values.update(
            cluster=current.cluster if current else event.cluster,
            owner=current.owner if current else event.owner,
            type=current.type if current else "",
            cross_border=current.cross_border if current else len(event.jurisdiction_codes) > 1,
            affected=current.affected if current else as_codes(event.jurisdiction_codes),
        )
    else:
        values.update(
            cluster=data.get("cluster") or event.cluster, owner=data["reporting_jurisdiction"], type=data["type"],
            cross_border=bool(data["cross_border"]), affected=as_codes(data["affected_jurisdictions"]),
        )
    return values


def _apply_incident_event(event, *, playbooks: list[Playbook], chains: dict[str, dict]) -> None:
    public_id = event.payload["id"]
    now = timezone.now()
    facts = IncidentFacts.objects.select_for_update(no_key=True).filter(pk=public_id).first()
    values = _facts_from(event, facts)
    if facts is not None and facts.version >= values["version"]:
        return  # seen already (a redelivery), or older than what we know
    closing = (event.name == "incident.status_changed" and values["status"] in CLOSED_STATUSES
               and (facts is None or facts.status not in CLOSED_STATUSES))
    if facts is None:
        facts = IncidentFacts.objects.create(public_id=public_id, updated_at=now, **values)
        started = set()  # an incident new to the engine has no runs to look up or to tell
    else:
        changed = any(getattr(facts, name) != values[name] for name in ("level", "affected", "status", "cross_border"))
        for name, value in values.items():
            setattr(facts, name, value)
        facts.updated_at = now
        facts.save()
        if changed:
            bumped = list(WorkflowRun.objects.filter(incident=facts, state__in=LIVE_RUN_STATES)
                          .values_list("id", flat=True))
            if bumped:
                WorkflowRun.objects.filter(id__in=bumped).update(facts_version=F("facts_version") + 1)
                request_reconcile(bumped)
        started = set(WorkflowRun.objects.filter(incident=facts).values_list("playbook_id", flat=True))
    if closing:
        incident_closed(facts, now=now)
    for playbook in playbooks:
        if playbook.pk not in started and trigger_matches(playbook.definition["trigger"], facts):
            if facts.cluster not in chains:
                chains[facts.cluster] = freeze_chain(facts.cluster)
            run_start(facts=facts, playbook=playbook, chain=chains[facts.cluster], now=now)
