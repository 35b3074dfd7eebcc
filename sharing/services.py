"""Writes of the sharing policy: sharing agreements, managed by cluster coordinators; and what
is addressed to a coordination body (`address_to_body`).

An agreement widens the cluster default (sharing.visibility) from one grantor to named
grantees, per data kind, category and minimum level, for a period, withholding the sensitive
fields it names. Every change is validated here (the API and the admin call these functions),
audited, written with one `agreement.created` / `agreement.updated` event, and makes every
process reload its sharing snapshot once it has committed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from config.errors import NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Cluster, Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from sharing.eventlog import Subject, emit_event
from sharing.models import AddressedToBody, DataKind, Level, SharingAgreement
from sharing.visibility import SENSITIVE_FIELDS, sharing_changed

# The four categories of the PRC Emergency Response Law. incidents.catalogue.Category names
# the same four; it sits a layer above this one, so the codes are repeated here (a test
# keeps the two equal).
CATEGORIES = ("natural_disaster", "accident", "public_health", "social_safety")

NAME_MAX = SharingAgreement._meta.get_field("name").max_length


@dataclass(frozen=True)
class AgreementTerms:
    """An agreement's terms once validated: what the services write."""

    name: str
    cluster: str
    grantor: str
    grantees: tuple[str, ...]
    data_kinds: tuple[str, ...]
    categories: tuple[str, ...]
    level_at_least: str
    valid_from: datetime | None
    valid_until: datetime | None
    withheld_fields: tuple[str, ...]
    is_active: bool


# --- reads the writes need (and the API's list and detail) --------------------------------------


def agreements_visible_to(*, principal: Principal) -> QuerySet[SharingAgreement]:
    """Agreements are public within their cluster: every member may read what its neighbours
    share and with whom, and so may the grantees (who may sit in another cluster)."""
    code = principal.jurisdiction
    return (
        SharingAgreement.objects.filter(
            Q(cluster_id__in=principal.clusters) | Q(grantor_id=code) | Q(grantees__code=code)
        )
        .distinct()
        .prefetch_related("grantees")
    )


def agreement_get(*, principal: Principal, agreement_id) -> SharingAgreement:
    try:
        return agreements_visible_to(principal=principal).get(pk=agreement_id)
    except (SharingAgreement.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        # (A malformed UUID the URL pattern lets through is Django's ValidationError: a 404 too.)
        raise NotFound("No such sharing agreement.") from None


# --- validation ----------------------------------------------------------------------------------


def _codes(value, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValidationFailed.on(field, "Expected a list of codes.")
    return list(dict.fromkeys(value))


def _subset(value, field: str, known) -> tuple[str, ...]:
    codes = _codes(value, field)
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationFailed.on(field, f"Unknown: {', '.join(unknown)}; one of {', '.join(known)}.")
    return tuple(codes)


def agreement_terms(*, actor: Principal | None, name: str = "", cluster: str | None = None, grantor: str,
                    grantees, data_kinds, categories=(), level_at_least: str = Level.IV,
                    valid_from: datetime | None = None, valid_until: datetime | None = None,
                    withheld_fields=None, is_active: bool = True) -> AgreementTerms:
    """Check an agreement's terms and fill in its defaults. Raises ValidationFailed naming the field.

    `withheld_fields` left out means every sensitive field is withheld: sharing personal data
    and contact numbers across a border is a choice an agreement states, never a default.
    """
    jurisdictions = set(Jurisdiction.objects.filter(code__in=[grantor, *_codes(grantees, "grantees")])
                        .values_list("code", flat=True))
    if grantor not in jurisdictions:
        raise ValidationFailed.on("grantor", f"Unknown jurisdiction {grantor!r}.")
    grantee_codes = _codes(grantees, "grantees")
    unknown = [code for code in grantee_codes if code not in jurisdictions]
    if unknown:
        raise ValidationFailed.on("grantees", f"Unknown jurisdictions: {', '.join(unknown)}.")
    if not grantee_codes:
        raise ValidationFailed.on("grantees", "At least one grantee is needed.")
    if grantor in grantee_codes:
        raise ValidationFailed.on("grantees", "The grantor sees its own data already; it cannot be a grantee.")
    kinds = _subset(data_kinds, "data_kinds", DataKind.values)
    if not kinds:
        raise ValidationFailed.on("data_kinds", f"At least one data kind is needed: {', '.join(DataKind.values)}.")
    category_codes = _subset(categories or [], "categories", CATEGORIES)
    if level_at_least not in Level.values:
        raise ValidationFailed.on("level_at_least", f"Unknown level {level_at_least!r}; one of I, II, III, IV.")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise ValidationFailed.on("valid_until", "valid_until must be later than valid_from (the dates are reversed).")
    withheld = (tuple(sorted(SENSITIVE_FIELDS)) if withheld_fields is None
                else _subset(withheld_fields, "withheld_fields", sorted(SENSITIVE_FIELDS)))

    grantor_clusters = set(Jurisdiction.clusters.through.objects.filter(jurisdiction_id=grantor)
                           .values_list("cluster_id", flat=True))
    if cluster is None:
        candidates = grantor_clusters & set(actor.clusters) if actor else set(grantor_clusters)
        if len(candidates) != 1:
            raise ValidationFailed.on("cluster", "Name the cluster the agreement belongs to.")
        (cluster,) = candidates
    elif not Cluster.objects.filter(code=cluster).exists():
        raise ValidationFailed.on("cluster", f"Unknown cluster {cluster!r}.")
    if cluster not in grantor_clusters:
        raise ValidationFailed.on("grantor", f"{grantor} is not a member of {cluster}.")
    name = (name or "").strip() or f"{grantor} → {', '.join(grantee_codes)}: {', '.join(kinds)}"
    if len(name) > NAME_MAX:
        raise ValidationFailed.on("name", f"At most {NAME_MAX} characters.")
    return AgreementTerms(
        name=name, cluster=cluster, grantor=grantor, grantees=tuple(grantee_codes), data_kinds=kinds,
        categories=category_codes, level_at_least=level_at_least, valid_from=valid_from,
        valid_until=valid_until, withheld_fields=withheld, is_active=bool(is_active),
    )


def _require_coordinator(actor: Principal | None, cluster: str) -> None:
    """Coordinators manage their own clusters' agreements; None is the admin or a command."""
    if actor is None:
        return
    if not actor.can(Action.MANAGE_SHARING):
        raise PermissionDenied("Only coordinators manage sharing agreements.")
    if cluster not in actor.clusters:
        raise PermissionDenied(f"Coordinators of {', '.join(actor.clusters) or 'no cluster'} cannot manage "
                               f"agreements of {cluster}.")


# --- writes --------------------------------------------------------------------------------------


def _payload(agreement: SharingAgreement, grantees) -> dict:
    return {
        "id": str(agreement.id),
        "name": agreement.name,
        "cluster": agreement.cluster_id,
        "grantor": agreement.grantor_id,
        "grantees": sorted(grantees),
        "data_kinds": list(agreement.data_kinds),
        "categories": list(agreement.categories),
        "level_at_least": agreement.level_at_least,
        "valid_from": agreement.valid_from.isoformat() if agreement.valid_from else None,
        "valid_until": agreement.valid_until.isoformat() if agreement.valid_until else None,
        "withheld_fields": list(agreement.withheld_fields),
        "is_active": agreement.is_active,
    }


def _record(name: str, agreement: SharingAgreement, grantees, actor: Principal | None, changed=None) -> None:
    payload = _payload(agreement, grantees)
    members = Jurisdiction.clusters.through.objects.filter(cluster_id=agreement.cluster_id).values_list(
        "jurisdiction_id", flat=True)
    # Everyone who may read the agreement through the API is concerned by its event, so the
    # event log and the stream show it to exactly the same jurisdictions.
    emit_event(name, subject=Subject(
        type="agreement", id=str(agreement.id), cluster=agreement.cluster_id, owner=agreement.grantor_id,
        jurisdictions=sorted({*grantees, *members}),
    ), payload=payload)
    detail = {"terms": payload}
    if changed is not None:
        detail["changed"] = sorted(changed)
    audit_record(actor=actor, action=name, object_type="sharing_agreement", object_id=str(agreement.id),
                 object_jurisdiction=agreement.grantor_id, detail=detail)
    transaction.on_commit(sharing_changed)


def _write_terms(agreement: SharingAgreement, terms: AgreementTerms) -> None:
    agreement.name = terms.name
    agreement.cluster_id = terms.cluster
    agreement.grantor_id = terms.grantor
    agreement.data_kinds = list(terms.data_kinds)
    agreement.categories = list(terms.categories)
    agreement.level_at_least = terms.level_at_least
    agreement.valid_from = terms.valid_from
    agreement.valid_until = terms.valid_until
    agreement.withheld_fields = list(terms.withheld_fields)
    agreement.is_active = terms.is_active
    agreement.save()
    agreement.grantees.set(terms.grantees)


def agreement_create(*, actor: Principal | None, **fields) -> SharingAgreement:
    """A new agreement. `fields` are agreement_terms' arguments."""
    terms = agreement_terms(actor=actor, **fields)
    _require_coordinator(actor, terms.cluster)
    with transaction.atomic():
        agreement = SharingAgreement()
        _write_terms(agreement, terms)
        _record("agreement.created", agreement, terms.grantees, actor)
    return agreement


def agreement_update(*, actor: Principal | None, agreement: SharingAgreement, **changes) -> SharingAgreement:
    """Change some terms (the others stay); the result is validated as a whole."""
    with transaction.atomic():
        locked = SharingAgreement.objects.select_for_update(no_key=True).get(pk=agreement.pk)
        _require_coordinator(actor, locked.cluster_id)
        current = {
            "name": locked.name, "cluster": locked.cluster_id, "grantor": locked.grantor_id,
            "grantees": sorted(locked.grantees.values_list("code", flat=True)), "data_kinds": locked.data_kinds,
            "categories": locked.categories, "level_at_least": locked.level_at_least,
            "valid_from": locked.valid_from, "valid_until": locked.valid_until,
            "withheld_fields": locked.withheld_fields, "is_active": locked.is_active,
        }
        unknown = sorted(set(changes) - set(current))
        if unknown:
            raise ValidationFailed.on(unknown[0], "This term does not exist or cannot be changed.")
        terms = agreement_terms(actor=actor, **{**current, **changes})
        _require_coordinator(actor, terms.cluster)
        changed = [key for key, value in changes.items() if _comparable(current[key]) != _comparable(value)]
        if not changed:
            return locked
        _write_terms(locked, terms)
        _record("agreement.updated", locked, terms.grantees, actor, changed=changed)
    return locked


def agreement_deactivate(*, actor: Principal | None, agreement: SharingAgreement) -> SharingAgreement:
    """End an agreement (kept for the record, no longer in force)."""
    return agreement_update(actor=actor, agreement=agreement, is_active=False)


def _comparable(value):
    if isinstance(value, list | tuple):
        return sorted(value)
    return value


# --- what is addressed to a coordination body ------------------------------------------------------


def address_to_body(*, incident: str, body: str, at: datetime) -> None:
    """Record that the incident (its public id) is addressed to the body, in the caller's
    transaction: from its commit the body's seated officers are concerned by the incident
    (sharing.visibility.addressed), in its list, its page, the event log and the stream.
    Idempotent: a second escalation to the same body keeps the first time."""
    AddressedToBody.objects.bulk_create([AddressedToBody(incident=incident, body_id=body, since=at)],
                                        ignore_conflicts=True)
