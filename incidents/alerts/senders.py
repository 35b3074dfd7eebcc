"""Who may speak as a CAP sender: the sender registry and its one rule.

A CAP message names its author in <sender>, and an alert's identifier is unique per sender, so
whoever may import under a sender may also squat its next identifiers and put words in its
mouth. The rule: an alert is imported only for the jurisdiction its sender belongs to.

- `liandong:<code>`, the sender of the alerts Liandong issues, belongs to `<code>`; no
  registration applies to it.
- Any other sender belongs to the jurisdiction whose registration matches it: an exact sender
  (`eoc@hk-gov.example`) or a shell pattern (`*@hk-gov.example`). Letter case does not count.
- A sender that no registration matches, or that registrations of two jurisdictions match,
  belongs to no one, and nothing is imported under it until a coordinator settles whose it is.

`sender_require` is asked by incidents.alerts.intake before anything is stored; a refusal is
a 403 naming the sender. The registry is kept by the coordinators of a jurisdiction's clusters
(the API, the admin and `manage.py register_cap_sender`, these two acting as the system), and
read by every member of those clusters, as sharing agreements are. Registering refuses what
would make the rule moot: Liandong's own senders, a pattern so broad it matches a made-up
address, and one that overlaps another jurisdiction's (either matches the other's text).
Partial overlaps that test cannot see (`eoc@*` and `*@hk-gov.example`) still fail safe: the
senders in both belong to no one.
"""

import fnmatch

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Jurisdiction
from coordination.principals import Principal
from coordination.roles import Action
from incidents.alerts.compose import OWN_SENDER_PREFIX
from incidents.alerts.models import MAX_IDENTIFIER_LENGTH, CapSender

WILDCARDS = "*?["
# No real sender looks like these; a pattern that matches one would claim senders nobody named.
_MADE_UP = ("made-up-sender-5e4de2", "nobody@made-up-5e4de2.invalid")


class SenderNotAllowed(PermissionDenied):
    slug = "cap-sender-not-allowed"
    title = _("CAP sender not allowed")


# --- the rule -------------------------------------------------------------------------------------


def sender_matches(pattern: str, sender: str) -> bool:
    """Whether a sender is the pattern (exact, or by shell pattern), letter case aside."""
    return fnmatch.fnmatchcase(sender.lower(), pattern.lower())


def sender_owners(sender: str) -> set[str]:
    """The jurisdictions whose registrations match the sender (one, when all is well)."""
    if sender.lower().startswith(OWN_SENDER_PREFIX):
        return {sender[len(OWN_SENDER_PREFIX):]}
    # Every registration, matched here: patterns cannot be looked up by an index, and a
    # cluster's registry is a few dozen rows.
    return {code for pattern, code in CapSender.objects.values_list("pattern", "jurisdiction_id")
            if sender_matches(pattern, sender)}


def sender_require(*, jurisdiction: str, sender: str) -> None:
    """Raise SenderNotAllowed unless the sender belongs to the jurisdiction alone."""
    owners = sender_owners(sender)
    if owners == {jurisdiction}:
        return
    if len(owners) > 1:
        detail = gettext("CAP sender %(sender)s is registered to more than one jurisdiction (%(jurisdictions)s); "
                         "nothing is imported under it until a coordinator settles whose it is.")
    else:
        detail = gettext("%(jurisdiction)s may not import CAP alerts from sender %(sender)s: it is not registered "
                         "to %(jurisdiction)s. A coordinator registers each sender to the one jurisdiction whose "
                         "system speaks for it.")
    raise SenderNotAllowed(detail % {"sender": sender, "jurisdiction": jurisdiction,
                                     "jurisdictions": ", ".join(sorted(owners))},
                           sender=sender)


# --- reading the registry -------------------------------------------------------------------------


def cap_senders_visible_to(*, principal: Principal) -> QuerySet[CapSender]:
    """The registrations of the jurisdictions in the principal's clusters, and its own."""
    members = Jurisdiction.clusters.through.objects.filter(cluster_id__in=principal.clusters)
    return CapSender.objects.filter(
        Q(jurisdiction_id__in=members.values("jurisdiction_id")) | Q(jurisdiction_id=principal.jurisdiction)
    )


def cap_sender_get(*, principal: Principal, registration_id) -> CapSender:
    try:
        return cap_senders_visible_to(principal=principal).get(pk=int(registration_id))
    except (CapSender.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext("No such CAP sender registration.")) from None


# --- writing it -----------------------------------------------------------------------------------


def _require_coordinator(actor: Principal | None, jurisdiction: str) -> None:
    """Coordinators keep the registry of their clusters' jurisdictions; None is the system."""
    if actor is None:
        return
    if not actor.can(Action.MANAGE_CAP_SENDERS):
        raise PermissionDenied(gettext("Only coordinators register CAP senders."))
    member_of = Jurisdiction.clusters.through.objects.filter(jurisdiction_id=jurisdiction,
                                                             cluster_id__in=actor.clusters)
    if not member_of.exists():
        raise PermissionDenied(gettext("Coordinators of %(clusters)s cannot register CAP senders for "
                                       "%(jurisdiction)s.") % {"clusters": ", ".join(actor.clusters) or "-",
                                                               "jurisdiction": jurisdiction})


def cap_sender_pattern(pattern: str) -> str:
    """The pattern as kept (trimmed, lower case), or ValidationFailed on `pattern` saying why."""
    pattern = (pattern or "").strip().lower()
    if not pattern:
        raise ValidationFailed.on("pattern", gettext("Name a sender or a pattern of senders."))
    if len(pattern) > MAX_IDENTIFIER_LENGTH:
        raise ValidationFailed.on("pattern", gettext("At most %(n)s characters.") % {"n": MAX_IDENTIFIER_LENGTH})
    if any(character.isspace() or character == "," for character in pattern):
        # CAP forbids both in a sender: such a pattern would never match.
        raise ValidationFailed.on("pattern", gettext("A CAP sender has no spaces or commas."))
    if pattern.startswith(OWN_SENDER_PREFIX):
        raise ValidationFailed.on("pattern", gettext(
            "Senders beginning with %(prefix)s are Liandong's own: each belongs to the jurisdiction it names."
        ) % {"prefix": OWN_SENDER_PREFIX})
    if any(sender_matches(pattern, made_up) for made_up in _MADE_UP):
        raise ValidationFailed.on("pattern", gettext(
            "This pattern matches almost any sender; name the sender's domain, as in *@hk-gov.example."))
    return pattern


def _overlapping(pattern: str, jurisdiction: str) -> CapSender | None:
    """Another jurisdiction's registration that covers this pattern, or that it covers."""
    for other in CapSender.objects.exclude(jurisdiction_id=jurisdiction).order_by("pattern"):
        if sender_matches(other.pattern, pattern) or sender_matches(pattern, other.pattern):
            return other
    return None


def cap_sender_check(*, actor: Principal | None, pattern: str, jurisdiction: str) -> str:
    """The pattern as it would be kept, once the actor may register it to the jurisdiction:
    ValidationFailed, PermissionDenied, or Conflict (409) when another jurisdiction's
    registration overlaps it. The admin's form asks this before it saves."""
    pattern = cap_sender_pattern(pattern)
    if not Jurisdiction.objects.filter(code=jurisdiction).exists():
        raise ValidationFailed.on("jurisdiction", gettext("Unknown jurisdiction %(code)s.") % {"code": jurisdiction})
    _require_coordinator(actor, jurisdiction)
    other = _overlapping(pattern, jurisdiction)
    if other is not None:
        message = gettext("%(pattern)s overlaps %(other)s, registered to %(jurisdiction)s: a sender belongs to one "
                          "jurisdiction.") % {"pattern": pattern, "other": other.pattern,
                                              "jurisdiction": other.jurisdiction_id}
        raise Conflict(message, errors={"pattern": [message]}, registered_to=other.jurisdiction_id)
    return pattern


def cap_sender_register(*, actor: Principal | None, pattern: str, jurisdiction: str,
                        note: str = "") -> tuple[CapSender, bool]:
    """Register a sender (or pattern) to a jurisdiction. Returns it and whether it is new; the
    same registration again changes nothing."""
    pattern = cap_sender_check(actor=actor, pattern=pattern, jurisdiction=jurisdiction)
    existing = CapSender.objects.filter(pattern=pattern, jurisdiction_id=jurisdiction).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            registration = CapSender.objects.create(pattern=pattern, jurisdiction_id=jurisdiction,
                                                    note=(note or "").strip()[:200],
                                                    created_by=actor.label if actor else "system")
            audit_record(actor=actor, action="cap_sender.registered", object_type="cap_sender",
                         object_id=str(registration.pk), object_jurisdiction=jurisdiction,
                         detail={"pattern": pattern, "note": registration.note})
    except IntegrityError:
        # The same pattern registered a moment ago by someone else: answer as if we had seen it.
        # (Two overlapping patterns registered at once both land; the rule then refuses the
        # senders they share, which is safe, until one is removed.)
        return cap_sender_register(actor=actor, pattern=pattern, jurisdiction=jurisdiction, note=note)
    return registration, True


def cap_sender_remove(*, actor: Principal | None, registration: CapSender) -> None:
    """Unregister: alerts already imported stay; new ones under the sender are refused."""
    _require_coordinator(actor, registration.jurisdiction_id)
    with transaction.atomic():
        deleted, _by_model = CapSender.objects.filter(pk=registration.pk).delete()
        if deleted:
            audit_record(actor=actor, action="cap_sender.removed", object_type="cap_sender",
                         object_id=str(registration.pk), object_jurisdiction=registration.jurisdiction_id,
                         detail={"pattern": registration.pattern})


def cap_sender_unregister(*, actor: Principal | None, pattern: str, jurisdiction: str) -> bool:
    """Remove the registration of this pattern to this jurisdiction; False when there was none."""
    registration = CapSender.objects.filter(pattern=cap_sender_pattern(pattern), jurisdiction_id=jurisdiction).first()
    if registration is None:
        return False
    cap_sender_remove(actor=actor, registration=registration)
    return True
