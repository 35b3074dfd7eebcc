"""Writes on incidents: reporting (one or a bulk, idempotent by external_id), changes, the
lifecycle, timeline entries, jurisdictions added by hand, and situation reports.

Every write runs in one transaction (new reports on PostgreSQL: one statement, see
incidents.intake), writes an audit entry and emits exactly one event (docs/api.md, "Events", names) through
the event log. Callers pass what the caller sent, usually already shaped by an input
serializer; each write holds it to the input contract (incidents.contract: lengths, choices,
counts, bounds, times, the area's geometry) before anything else, so a direct call is as safe,
and checks here what only a service knows: who may, what the lifecycle allows, where the
incident lies.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict, NotFound, PayloadTooLarge, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal, require
from coordination.roles import Action
from incidents import contract, lifecycle
from incidents.areas import Location, affected_codes, area_shape, place
from incidents.contract import CASUALTY_FIGURES, MAX_BULK_ITEMS, Given, check_type
from incidents.intake import NewIncident, insert_new_incidents
from incidents.lifecycle import Status
from incidents.models import AffectedJurisdiction, Incident, SituationReport, TimelineEntry, TimelineKind
from incidents.payloads import cluster_zone, incident_data, sitrep_data, timeline_entry_data
from incidents.selectors import incident_facts
from sharing.eventlog import Subject, emit_event
from sharing.models import DataKind
from sharing.visibility import Viewer, decide

__all__ = ["MAX_BULK_ITEMS"]  # read by the API's bulk view


@dataclass
class ReportOutcome:
    """One report's result: created, or the existing incident (changed or not), or a problem."""

    incident: Incident | None = None
    data: dict | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    problem: ApplicationError | None = None


@dataclass
class WriteOutcome:
    incident: Incident
    data: dict
    changed: list[str] = field(default_factory=list)


# --- reporting -------------------------------------------------------------------------------


def incident_report(*, actor: Principal, data: Mapping[str, Any]) -> ReportOutcome:
    """Report an incident for the caller's jurisdiction (POST /incidents/). A report whose
    external_id this jurisdiction already used changes the existing incident instead."""
    outcome = incident_report_many(actor=actor, items=[data])[0]
    if outcome.problem is not None:
        raise outcome.problem
    return outcome


def incident_report_many(*, actor: Principal, items: Sequence[Mapping[str, Any]]) -> list[ReportOutcome]:
    """Reports in bulk: a result per item, in order; a bad item does not sink the others."""
    require(actor, Action.REPORT_INCIDENT)
    if len(items) > MAX_BULK_ITEMS:
        raise PayloadTooLarge(f"At most {MAX_BULK_ITEMS} reports in one request; split the batch.")
    now = timezone.now()
    outcomes = [ReportOutcome() for _ in items]
    prepared: list[tuple[int, Mapping[str, Any], Given, NewIncident]] = []

    def new_incidents():
        """Each report checked and made ready when the insert asks for it (so on PostgreSQL the
        database writes one batch while the next is prepared), in external_id order (the
        insert's rule for more than one batch: keys are locked in one order)."""
        for index in sorted(range(len(items)), key=lambda index: _key_order(items[index])):
            item = items[index]
            try:
                given = contract.report_checked(item, now=now, new=True)
                new = _new_incident(actor=actor, data=item, given=given, now=now)
            except ApplicationError as exc:
                outcomes[index].problem = exc
                continue
            prepared.append((index, item, given, new))
            yield new

    # The new reports are one write (atomic by itself); each report of a known external_id
    # is a write of its own, so a refused one spoils nothing.
    pks = insert_new_incidents(new_incidents())
    known = []
    for (index, data, given, new), pk in zip(prepared, pks, strict=True):
        if pk is not None:
            outcomes[index] = ReportOutcome(
                incident=new.incident, data={**new.payload, "id": new.incident.public_id}, created=True
            )
        else:
            known.append((index, data, given))
    # Existing incidents are locked in external_id order, so two bulks naming the same
    # incidents in different orders wait for each other instead of deadlocking.
    for index, data, given in sorted(known, key=lambda item: item[1]["external_id"]):
        outcomes[index] = _report_again(actor=actor, data=data, given=given, now=now)
    return outcomes


def _key_order(data: Mapping[str, Any]) -> tuple[bool, str]:
    external_id = data.get("external_id")
    return (external_id is None, external_id or "")


def _new_incident(*, actor: Principal, data: Mapping[str, Any], given: Given, now: datetime) -> NewIncident:
    """A report held to the contract (`given`, every required field) made ready to insert."""
    placement = place(reporter=actor.jurisdiction, clusters=actor.clusters, location=given.location, shape=given.shape)
    affected = affected_codes(reporter=actor.jurisdiction, touched=placement.touched)
    incident = Incident(
        **given.columns,
        public_id="",
        status=Status.REPORTED,
        reporting_jurisdiction_id=actor.jurisdiction,
        cluster_id=placement.cluster,
        cross_border=len(affected) > 1,
        external_id=data.get("external_id"),
        exercise=bool(data.get("exercise", False)),
        version=1,
        reported_by=actor.label,
        reported_by_user_id=actor.user_id,
        reported_by_client_id=actor.client_id,
        created_at=now,
        updated_at=now,
    )
    return NewIncident(
        incident=incident,
        year=now.astimezone(cluster_zone(placement.cluster)).year,
        affected=affected,
        payload=incident_data(incident, affected=affected),
        subject=_subject(incident, affected),
        actor=actor,
        audit_detail={"external_id": incident.external_id, "exercise": incident.exercise},
    )


def _report_again(*, actor: Principal, data: Mapping[str, Any], given: Given, now: datetime) -> ReportOutcome:
    """The same external_id again (a retry, or news): the existing incident, changed where the
    report differs, in a transaction of its own (a savepoint inside the caller's)."""
    try:
        with transaction.atomic():
            incident = _locked(
                Incident.objects.filter(reporting_jurisdiction_id=actor.jurisdiction, external_id=data["external_id"])
            )
            if bool(data.get("exercise", False)) != incident.exercise:
                raise Conflict(
                    f"{incident.public_id} was reported with exercise={incident.exercise}; a report cannot "
                    "turn a drill into a real incident or back.",
                    errors={"exercise": ["Differs from the incident reported with this external_id."]},
                )
            rows = list(incident.affected.all())
            if _would_change(incident, given):
                _require_open(incident)
            changed, payload = _apply_changes(actor=actor, incident=incident, rows=rows, given=given, now=now)
            return ReportOutcome(incident=incident, data=payload, created=False, changed=changed)
    except ApplicationError as exc:
        return ReportOutcome(problem=exc)


# --- changes ---------------------------------------------------------------------------------


def incident_update(
    *, actor: Principal, public_id: str, data: Mapping[str, Any], expected_version: int | None = None
) -> WriteOutcome:
    """PATCH: change an incident of the caller's jurisdiction. With `expected_version` (If-Match),
    a version that moved on since the caller read it is a 409."""
    now = timezone.now()
    given = contract.report_checked(data, now=now, new=False)
    with transaction.atomic():
        incident, rows = _loaded_for_write(actor, public_id, action=Action.REPORT_INCIDENT, reporter_only=True)
        if expected_version is not None and expected_version != incident.version:
            raise Conflict(
                f"{incident.public_id} is at version {incident.version}, not {expected_version}; "
                "read it again and reapply your change.",
                current_version=incident.version,
            )
        _require_open(incident)
        changed, payload = _apply_changes(actor=actor, incident=incident, rows=rows, given=given, now=now)
    return WriteOutcome(incident=incident, data=payload, changed=changed)


def _apply_changes(
    *, actor: Principal, incident: Incident, rows: list[AffectedJurisdiction], given: Given, now: datetime
) -> tuple[list[str], dict]:
    """Set what differs; when the place moved, recompute the cluster and the affected
    jurisdictions (keeping those added by hand). One `incident.updated` event if anything changed."""
    changed_columns = [column for column, value in given.columns.items() if getattr(incident, column) != value]
    for column in changed_columns:
        setattr(incident, column, given.columns[column])
    check_type(incident.category, incident.type)  # a change of one against the stored other
    changed = sorted({_FIELD_OF_COLUMN.get(column, column) for column in changed_columns})
    affected = sorted(row.jurisdiction_id for row in rows)
    manual = sorted(row.jurisdiction_id for row in rows if row.added_manually)
    if {"location", "affected_area"} & set(changed):
        placement = place(
            reporter=incident.reporting_jurisdiction_id,
            clusters=actor.clusters,
            location=Location(incident.location_lat, incident.location_lon),
            shape=given.shape if given.area_given else area_shape(incident.affected_area),
        )
        if placement.cluster != incident.cluster_id:
            incident.cluster_id = placement.cluster
            changed_columns.append("cluster")
            changed.append("cluster")
        recomputed = affected_codes(
            reporter=incident.reporting_jurisdiction_id, touched=placement.touched, manual=frozenset(manual)
        )
        if recomputed != affected:
            _replace_affected(incident, old=affected, new=recomputed)
            affected = recomputed
            changed.append("affected_jurisdictions")
        if incident.cross_border != (len(affected) > 1):
            incident.cross_border = len(affected) > 1
            changed_columns.append("cross_border")
            changed.append("cross_border")
    if not changed:
        return [], incident_data(incident, affected=affected, manual=manual)
    changed = sorted(changed)
    _bump(incident, now, changed_columns)
    payload = incident_data(incident, affected=affected, manual=manual)
    emit_event("incident.updated", subject=_subject(incident, affected), payload={**payload, "changed": changed})
    audit_record(
        actor=actor, action="incident.updated", object_type="incident", object_id=incident.public_id,
        object_jurisdiction=incident.reporting_jurisdiction_id,
        detail={"changed": changed, "version": incident.version},
    )
    return changed, payload


def _would_change(incident: Incident, given: Given) -> bool:
    return any(getattr(incident, column) != value for column, value in given.columns.items())


def _replace_affected(incident: Incident, *, old: list[str], new: list[str]) -> None:
    gone = set(old) - set(new)
    if gone:
        AffectedJurisdiction.objects.filter(incident=incident, jurisdiction_id__in=gone).delete()
    AffectedJurisdiction.objects.bulk_create(
        AffectedJurisdiction(incident=incident, jurisdiction_id=code) for code in sorted(set(new) - set(old))
    )


def _bump(incident: Incident, now: datetime, columns: list[str]) -> None:
    incident.version += 1
    incident.updated_at = now
    incident.save(update_fields=sorted({*columns, "version", "updated_at"}))


# --- lifecycle -------------------------------------------------------------------------------


def incident_transition(*, actor: Principal, public_id: str, status: str, note: str = "") -> WriteOutcome:
    """Move an incident along the lifecycle (incidents.lifecycle). Moving to the status it
    already has changes nothing; a move the lifecycle forbids is a 409. Closing or cancelling
    needs a closing note (incidents.contract.closing_note_checked); it is the status entry's
    text on the timeline. What hangs on the incident (its playbook runs, joint command, open
    mutual aid) is ended by the playbook engine when this move's event reaches it
    (coordination.workflows.triggers, docs/playbooks.md "Closing an incident")."""
    contract.transition_checked(status=status, note=note)
    now = timezone.now()
    with transaction.atomic():
        incident, rows = _loaded_for_write(actor, public_id, action=Action.TRANSITION_INCIDENT, reporter_only=True)
        affected = sorted(row.jurisdiction_id for row in rows)
        manual = sorted(row.jurisdiction_id for row in rows if row.added_manually)
        if incident.status == status:
            return WriteOutcome(incident=incident, data=incident_data(incident, affected=affected, manual=manual))
        previous = incident.status
        if not lifecycle.may_move(previous, status):
            allowed = sorted(lifecycle.MOVES[previous])
            raise Conflict(
                f"A {previous} incident cannot become {status}"
                + (f"; it may become {', '.join(allowed)}." if allowed else "; it is final."),
                current_status=previous, allowed=allowed,
            )
        # After the lifecycle's answer: a forbidden move is a 409 whatever its note.
        contract.closing_note_checked(status=status, note=note)
        incident.status = status
        _bump(incident, now, ["status"])
        TimelineEntry.objects.create(
            incident=incident, kind=TimelineKind.STATUS_CHANGED, at=now, author=actor.label,
            author_jurisdiction=actor.jurisdiction, text=note, previous_status=previous, status=status,
        )
        emit_event(
            "incident.status_changed",
            subject=_subject(incident, affected),
            payload={
                "id": incident.public_id, "title": incident.title, "category": incident.category,
                "level": incident.level, "exercise": incident.exercise, "previous_status": previous,
                "status": status, "note": note, "version": incident.version,
                "at": now.astimezone(cluster_zone(incident.cluster_id)).isoformat(),
            },
        )
        audit_record(
            actor=actor, action="incident.status_changed", object_type="incident", object_id=incident.public_id,
            object_jurisdiction=incident.reporting_jurisdiction_id,
            detail={"from": previous, "to": status, "version": incident.version},
        )
    return WriteOutcome(
        incident=incident, data=incident_data(incident, affected=affected, manual=manual), changed=["status"]
    )


# --- timeline --------------------------------------------------------------------------------


def incident_update_add(
    *, actor: Principal, public_id: str, text: str, figures: Mapping[str, int] | None = None
) -> tuple[Incident, dict]:
    """A timeline entry (POST /incidents/{id}/updates/) by the reporter or an affected
    jurisdiction. Returns the incident and the entry as data."""
    figures = contract.update_checked(text=text, figures=figures)
    with transaction.atomic():
        incident, rows = _loaded_for_write(
            actor, public_id, action=Action.REPORT_INCIDENT, reporter_only=False, lock=False
        )
        affected = sorted(row.jurisdiction_id for row in rows)
        entry = TimelineEntry.objects.create(
            incident=incident, kind=TimelineKind.UPDATE, at=timezone.now(), author=actor.label,
            author_jurisdiction=actor.jurisdiction, text=text, figures=figures,
        )
        data = timeline_entry_data(entry, cluster=incident.cluster_id)
        emit_event(
            "incident.update_added",
            subject=_subject(incident, affected),
            payload={"incident": incident.public_id, "exercise": incident.exercise, "entry": data},
        )
        audit_record(
            actor=actor, action="incident.update_added", object_type="incident", object_id=incident.public_id,
            object_jurisdiction=incident.reporting_jurisdiction_id, detail={"entry": entry.pk},
        )
    return incident, data


# Entries other apps write: their own kinds, never a report or a status change (this module's).
RECORDABLE_KINDS = frozenset({TimelineKind.ALERT, TimelineKind.MUTUAL_AID, TimelineKind.WORKFLOW})


def incident_timeline_record(
    *, incident: Incident | str, kind: str, text: str, actor: Principal | None,
    data: Mapping[str, Any] | None = None, at: datetime | None = None,
) -> TimelineEntry:
    """A timeline entry on an incident (the instance or its public id) for another app's write
    (an alert issued, mutual aid moved, a playbook step), inside the caller's transaction.

    No permission check, audit entry or event of its own: they are the caller's, whose write
    the entry records (its one event already says what happened). The author is whoever
    acted, of whatever jurisdiction (a supplier of mutual aid is no party to the incident);
    `actor` None is the system. `data` names what the entry refers to, e.g. {"alert": id}.
    The entry is seen with the incident's timeline.
    """
    if kind not in RECORDABLE_KINDS:
        raise ValueError(f"timeline kind {kind!r} is not one other apps record; one of {sorted(RECORDABLE_KINDS)}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("incident_timeline_record must run inside the transaction of the write it records")
    if isinstance(incident, str):
        found = Incident.objects.filter(public_id=incident).only("pk").first()
        if found is None:
            raise NotFound(f"No incident {incident}.")
        incident = found
    return TimelineEntry.objects.create(
        incident=incident, kind=kind, at=at or timezone.now(), author=(actor.label if actor else "system")[:200],
        author_jurisdiction=actor.jurisdiction if actor else "", text=text, data=dict(data or {}),
    )


def incident_jurisdiction_add(*, actor: Principal, public_id: str, jurisdiction: str) -> WriteOutcome:
    """An officer of the reporting jurisdiction names an affected jurisdiction the geometry did
    not find. It is recorded as added by hand and kept when the area is recomputed."""
    now = timezone.now()
    with transaction.atomic():
        incident, rows = _loaded_for_write(actor, public_id, action=Action.REPORT_INCIDENT, reporter_only=True)
        _require_open(incident)
        if not Jurisdiction.objects.filter(code=jurisdiction).exists():
            raise ValidationFailed.on("jurisdiction", f"Unknown jurisdiction code {jurisdiction!r}.")
        row = next((row for row in rows if row.jurisdiction_id == jurisdiction), None)
        if row is not None and row.added_manually:
            return WriteOutcome(incident=incident, data=_data_of(incident, rows))
        if row is None:
            row = AffectedJurisdiction.objects.create(
                incident=incident, jurisdiction_id=jurisdiction, added_manually=True, added_by=str(actor)
            )
            rows.append(row)
        else:
            row.added_manually, row.added_by = True, str(actor)
            row.save(update_fields=["added_manually", "added_by"])
        changed = ["affected_jurisdictions"]
        columns = []
        if not incident.cross_border and len(rows) > 1:
            incident.cross_border = True
            columns.append("cross_border")
            changed.append("cross_border")
        _bump(incident, now, columns)
        TimelineEntry.objects.create(
            incident=incident, kind=TimelineKind.JURISDICTION_ADDED, at=now, author=actor.label,
            author_jurisdiction=actor.jurisdiction, text=jurisdiction,
        )
        payload = _data_of(incident, rows)
        emit_event(
            "incident.updated", subject=_subject(incident, payload["affected_jurisdictions"]),
            payload={**payload, "changed": changed},
        )
        audit_record(
            actor=actor, action="incident.jurisdiction_added", object_type="incident", object_id=incident.public_id,
            object_jurisdiction=incident.reporting_jurisdiction_id,
            detail={"jurisdiction": jurisdiction, "version": incident.version},
        )
    return WriteOutcome(incident=incident, data=payload, changed=changed)


# --- situation reports -----------------------------------------------------------------------


@dataclass
class SitrepOutcome:
    sitrep: SituationReport
    data: dict
    created: bool
    changed: list[str]


def sitrep_submit(*, actor: Principal, public_id: str, data: Mapping[str, Any]) -> SitrepOutcome:
    """A jurisdiction's situation report for one operational period (the reporter's or an
    affected jurisdiction's). Submitting again for the same period start updates that report
    with what the new submission gives."""
    now = timezone.now()
    given = contract.sitrep_checked(data, now=now)
    period_start, values = given.period_start, given.values
    with transaction.atomic():
        incident, rows = _loaded_for_write(
            actor, public_id, action=Action.REPORT_INCIDENT, reporter_only=False, lock=False
        )
        if incident.exercise:
            values["exercise"] = True  # a drill's reports are drill reports
        sitrep, created = _sitrep_for_period(
            incident=incident, jurisdiction=actor.jurisdiction, period_start=period_start,
            defaults={**values, "author": actor.label, "created_at": now, "updated_at": now},
        )
        changed = []
        if not created:
            changed = [name for name, value in values.items() if getattr(sitrep, name) != value]
            if not changed:
                return SitrepOutcome(sitrep, sitrep_data(sitrep, incident=incident), False, [])
            for name in changed:
                setattr(sitrep, name, values[name])
            sitrep.author, sitrep.version, sitrep.updated_at = actor.label, sitrep.version + 1, now
            sitrep.save()
        payload = sitrep_data(sitrep, incident=incident)
        affected = sorted(row.jurisdiction_id for row in rows)
        subject = _subject(incident, affected, data_kind=DataKind.SITREPS, type_="sitrep", id_=str(sitrep.pk),
                           exercise=sitrep.exercise)
        if created:
            emit_event("sitrep.submitted", subject=subject, payload=payload)
        else:
            emit_event("sitrep.updated", subject=subject, payload={**payload, "changed": changed})
        audit_record(
            actor=actor, action="sitrep.submitted" if created else "sitrep.updated", object_type="sitrep",
            object_id=str(sitrep.pk), object_jurisdiction=incident.reporting_jurisdiction_id,
            detail={"incident": incident.public_id, "version": sitrep.version},
        )
    return SitrepOutcome(sitrep, payload, created, changed)


def _sitrep_for_period(
    *, incident: Incident, jurisdiction: str, period_start: datetime, defaults: dict
) -> tuple[SituationReport, bool]:
    """The report for this period, locked, or a new one. Two first submissions racing: the
    unique constraint lets one create it and the other finds it."""
    reports = SituationReport.objects.select_for_update(no_key=True).filter(
        incident=incident, jurisdiction_id=jurisdiction, period_start=period_start
    )
    existing = reports.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return SituationReport.objects.create(
                incident=incident, jurisdiction_id=jurisdiction, period_start=period_start, **defaults
            ), True
    except IntegrityError:
        return reports.get(), False


# --- rules shared by the writes --------------------------------------------------------------

_FIELD_OF_COLUMN = {
    "location_lat": "location",
    "location_lon": "location",
    **{name: "casualties" for name in CASUALTY_FIGURES},
}


def _require_open(incident: Incident) -> None:
    if not lifecycle.is_open(incident.status):
        raise Conflict(f"{incident.public_id} is {incident.status}; it can no longer be changed.",
                       current_status=incident.status)


def _locked(incidents) -> Incident:
    incident = incidents.select_for_update(no_key=True).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def _loaded_for_write(
    actor: Principal, public_id: str, *, action: Action, reporter_only: bool, lock: bool = True
) -> tuple[Incident, list[AffectedJurisdiction]]:
    """The incident and its affected rows, for a write by `actor`: 404 if the actor may not
    see it, 403 if it may see it but not do this (its role, or not its incident: only the
    reporter changes an incident; the reporter or an affected jurisdiction adds to it)."""
    incidents = Incident.objects.filter(public_id=public_id)
    incident = _locked(incidents) if lock else incidents.first()
    if incident is None:
        raise NotFound("No such incident.")
    rows = list(incident.affected.all())
    affected = {row.jurisdiction_id for row in rows}
    if not decide(Viewer.of(actor), incident_facts(incident, affected=affected)):
        raise NotFound("No such incident.")
    require(actor, action)
    allowed = {incident.reporting_jurisdiction_id} if reporter_only else affected | {incident.reporting_jurisdiction_id}
    if actor.jurisdiction not in allowed:
        raise PermissionDenied(
            f"Only the reporting jurisdiction ({incident.reporting_jurisdiction_id}) may do this."
            if reporter_only else "Only the reporting or an affected jurisdiction may do this."
        )
    return incident, rows


def _data_of(incident: Incident, rows: list[AffectedJurisdiction]) -> dict:
    return incident_data(
        incident,
        affected=[row.jurisdiction_id for row in rows],
        manual=[row.jurisdiction_id for row in rows if row.added_manually],
    )


def _subject(
    incident: Incident, affected: Sequence[str], *, data_kind: str = DataKind.INCIDENTS, type_: str = "incident",
    id_: str | None = None, exercise: bool | None = None,
) -> Subject:
    return Subject(
        type=type_,
        id=incident.public_id if id_ is None else id_,
        cluster=incident.cluster_id or "",
        owner=incident.reporting_jurisdiction_id,
        jurisdictions=list(affected),
        level=incident.level,
        category=incident.category,
        data_kind=data_kind,
        exercise=incident.exercise if exercise is None else exercise,
    )
