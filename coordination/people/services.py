"""Writing contact methods and the notification policy (docs/people.md).

Only the officer themself edits their contact methods and quiet hours (the actor's user is the
officer), or the system (actor None: `create_officer`, the admin). A commander or a coordinator
may read someone's details (selectors.contacts_visible_to) but not change them: a wrong number
written by someone else is a person who is not woken. Every write is audited, without the
address or the secret (the audit log is read more widely than contact details are).
"""

from datetime import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import validate_time_zone
from coordination.people import contract
from coordination.people.models import ContactMethod, MessageLanguage, NotificationPolicy
from coordination.people.selectors import jurisdiction_of
from coordination.principals import Principal


def _require_self(actor: Principal | None, officer_id: int) -> None:
    if actor is None:
        return
    if actor.kind != "officer" or actor.user_id != officer_id:
        raise PermissionDenied(_("Only the officer themself changes their contact methods and quiet hours."))


def _lock_officer(officer_id: int) -> None:
    """Serialises the writes of one officer's list (positions stay 0, 1, 2, … without gaps)."""
    get_user_model().objects.select_for_update().filter(pk=officer_id).first()


def _renumber(officer_id: int) -> None:
    for index, method in enumerate(ContactMethod.objects.filter(officer_id=officer_id).order_by("position", "id")):
        if method.position != index:
            ContactMethod.objects.filter(pk=method.pk).update(position=index)


def _audit(actor, action: str, officer_id: int, detail: dict) -> None:
    audit_record(actor=actor, action=action, object_type="user", object_id=str(officer_id),
                 object_jurisdiction=jurisdiction_of(officer_id) or "", detail=detail)


def contact_get(*, actor: Principal, contact_id: int) -> ContactMethod:
    """One of the actor's own contact methods (NotFound for anyone else's)."""
    method = ContactMethod.objects.filter(pk=contact_id).first()
    if method is None or actor.kind != "officer" or method.officer_id != actor.user_id:
        raise NotFound(_("No such contact method."))
    return method


def contact_add(*, actor: Principal | None, officer, channel: str, address, secret: str = "", label: str = "",
                wait_minutes: int = contract.DEFAULT_WAIT_MINUTES, active: bool = True) -> ContactMethod:
    """A new contact method, tried after the officer's others."""
    officer_id = getattr(officer, "pk", officer)
    _require_self(actor, officer_id)
    channel = contract.check_channel(channel)
    address = contract.check_address(channel, address, jurisdiction=jurisdiction_of(officer_id))
    values = dict(secret=contract.check_secret(channel, secret), label=contract.check_label(label),
                  wait_minutes=contract.check_wait(wait_minutes), active=bool(active))
    with transaction.atomic():
        _lock_officer(officer_id)
        existing = ContactMethod.objects.filter(officer_id=officer_id)
        if existing.count() >= contract.MAX_METHODS:
            raise ValidationFailed.on("channel", _("At most %(most)s contact methods per person.")
                                      % {"most": contract.MAX_METHODS})
        if existing.filter(channel=channel, address=address).exists():
            raise Conflict(_("This contact method is already on the list."))
        last = existing.aggregate(last=Max("position"))["last"]
        method = ContactMethod.objects.create(officer_id=officer_id, channel=channel, address=address,
                                              position=0 if last is None else last + 1, **values)
        _audit(actor, "contacts.added", officer_id, {"contact": method.pk, "channel": channel})
    return method


UPDATABLE = ("address", "secret", "label", "wait_minutes", "active")


def contact_update(*, actor: Principal | None, contact: ContactMethod, **changes) -> ContactMethod:
    """Change some of `UPDATABLE` (the channel is fixed: a new channel is a new method)."""
    _require_self(actor, contact.officer_id)
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationFailed.on(unknown[0], _("This cannot be changed; remove the method and add a new one."))
    checked = {}
    if "address" in changes:
        checked["address"] = contract.check_address(contact.channel, changes["address"],
                                                    jurisdiction=jurisdiction_of(contact.officer_id))
    if "secret" in changes:
        checked["secret"] = contract.check_secret(contact.channel, changes["secret"])
    if "label" in changes:
        checked["label"] = contract.check_label(changes["label"])
    if "wait_minutes" in changes:
        checked["wait_minutes"] = contract.check_wait(changes["wait_minutes"])
    if "active" in changes:
        checked["active"] = bool(changes["active"])
    with transaction.atomic():
        _lock_officer(contact.officer_id)
        if "address" in checked and ContactMethod.objects.filter(
                officer_id=contact.officer_id, channel=contact.channel, address=checked["address"]
        ).exclude(pk=contact.pk).exists():
            raise Conflict(_("This contact method is already on the list."))
        for name, value in checked.items():
            setattr(contact, name, value)
        try:
            contact.save(update_fields=list(checked) or None)
        except IntegrityError as exc:  # a concurrent write of the same address
            raise Conflict(_("This contact method is already on the list.")) from exc
        # The names of what changed, not the values: the secret and the address stay out of the log.
        _audit(actor, "contacts.updated", contact.officer_id, {"contact": contact.pk, "changed": sorted(checked)})
    return contact


def contact_remove(*, actor: Principal | None, contact: ContactMethod) -> None:
    _require_self(actor, contact.officer_id)
    with transaction.atomic():
        _lock_officer(contact.officer_id)
        _audit(actor, "contacts.removed", contact.officer_id, {"contact": contact.pk, "channel": contact.channel})
        contact.delete()
        _renumber(contact.officer_id)


def contacts_reorder(*, actor: Principal | None, officer, ids: list[int]) -> list[ContactMethod]:
    """Put the officer's methods in the order of `ids`: every one of them, each once."""
    officer_id = getattr(officer, "pk", officer)
    _require_self(actor, officer_id)
    with transaction.atomic():
        _lock_officer(officer_id)
        methods = {method.pk: method for method in ContactMethod.objects.filter(officer_id=officer_id)}
        if not isinstance(ids, list | tuple) or len(ids) != len(set(ids)) or set(ids) != set(methods):
            raise ValidationFailed.on("ids", _("List every one of your contact methods once, in the new order."))
        for index, pk in enumerate(ids):
            if methods[pk].position != index:
                ContactMethod.objects.filter(pk=pk).update(position=index)
                methods[pk].position = index
        _audit(actor, "contacts.reordered", officer_id, {"order": list(ids)})
    return [methods[pk] for pk in ids]


def policy_set(*, actor: Principal | None, officer, quiet_start: time | None, quiet_end: time | None,
               time_zone: str = "") -> NotificationPolicy:
    """The officer's quiet hours: both times or neither (none: every notification at once), in
    `time_zone` (empty: the officer's cluster's)."""
    officer_id = getattr(officer, "pk", officer)
    _require_self(actor, officer_id)
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationFailed.on("quiet_end" if quiet_end is None else "quiet_start",
                                  _("Give both the start and the end of the quiet hours, or neither."))
    if quiet_start is not None and quiet_start == quiet_end:
        raise ValidationFailed.on("quiet_end", _("The quiet hours must end at another time than they start."))
    zone = (time_zone or "").strip()
    if zone:
        try:
            validate_time_zone(zone)
        except DjangoValidationError:  # ours names the field
            message = _("Choose a time zone from the list, such as Asia/Hong_Kong.")
            raise ValidationFailed.on("time_zone", message) from None
    with transaction.atomic():
        policy, _created = NotificationPolicy.objects.update_or_create(
            officer_id=officer_id,
            defaults={"quiet_start": quiet_start, "quiet_end": quiet_end, "time_zone": zone})
        _audit(actor, "notification_policy.set", officer_id, {
            "quiet_start": quiet_start.isoformat() if quiet_start else None,
            "quiet_end": quiet_end.isoformat() if quiet_end else None, "time_zone": zone})
    return policy


def language_set(*, actor: Principal | None, officer, language: str) -> NotificationPolicy:
    """The language of every notification to the officer ("zh-hans", "zh-hant", "en"), or ""
    for their jurisdiction's. Kept beside the quiet hours (one row per officer); the quiet
    hours are left as they are."""
    officer_id = getattr(officer, "pk", officer)
    _require_self(actor, officer_id)
    language = (language or "").strip()
    if language and language not in MessageLanguage.values:
        raise ValidationFailed.on("language", _("Choose one of the languages on the list."))
    with transaction.atomic():
        policy, _created = NotificationPolicy.objects.update_or_create(
            officer_id=officer_id, defaults={"language": language})
        _audit(actor, "notification_policy.language", officer_id, {"language": language})
    return policy
