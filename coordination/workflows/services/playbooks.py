"""Writes of playbooks: a definition checked, a playbook created or changed, by a coordinator
for the clusters they coordinate (or by the admin and commands, with no actor). Runs under way
keep the version they froze; new runs take the newest.
"""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, PermissionDenied, ValidationFailed
from coordination.audit import audit_record
from coordination.models import Cluster
from coordination.principals import Principal, require
from coordination.roles import Action
from coordination.workflows.contract import (
    PLAYBOOK_NAME_MAX_LENGTH,
    text_checked,
)
from coordination.workflows.definitions import definition_validated
from coordination.workflows.models import (
    Playbook,
    as_codes,
)


def _playbook_clusters(definition: dict) -> list[str]:
    clusters = definition["trigger"].get("clusters", [])
    unknown = sorted(set(clusters) - set(Cluster.objects.filter(code__in=clusters).values_list("code", flat=True)))
    if unknown:
        raise ValidationFailed.on("definition.trigger.clusters", f"Unknown clusters: {', '.join(unknown)}.")
    return clusters


def _may_manage(actor: Principal | None, clusters: Sequence[str]) -> None:
    """Coordinators manage the playbooks of their own clusters; a playbook for every cluster
    (no clusters in its trigger) is the service operator's, edited in the admin. None is the
    admin or a command."""
    if actor is None:
        return
    require(actor, Action.MANAGE_PLAYBOOKS, "Only coordinators manage playbooks.")
    if not clusters:
        raise PermissionDenied("A playbook for every cluster is managed by the service operator; name your "
                               "cluster in trigger.clusters.")
    outside = sorted(set(clusters) - set(actor.clusters))
    if outside:
        raise PermissionDenied(f"Coordinators of {', '.join(actor.clusters) or 'no cluster'} cannot manage "
                               f"playbooks of {', '.join(outside)}.")


def _playbook_event(playbook: Playbook, actor: Principal | None, action: str, detail: dict) -> None:
    audit_record(actor=actor, action=action, object_type="playbook", object_id=playbook.code,
                 detail={"version": playbook.version, **detail})


def playbook_definition_checked(*, actor: Principal | None, definition) -> dict:
    """A definition validated whole (a bad one names each problem and where it is), with its
    defaults written out, for clusters the actor manages."""
    definition = definition_validated(definition)
    _may_manage(actor, _playbook_clusters(definition))
    return definition


def playbook_create(*, actor: Principal | None, code: str, name_zh: str, name_en: str, definition,
                    description: str = "", is_active: bool = True) -> Playbook:
    """A new playbook, checked by playbook_definition_checked."""
    definition = playbook_definition_checked(actor=actor, definition=definition)
    clusters = definition["trigger"].get("clusters", [])
    with transaction.atomic():
        if Playbook.objects.filter(code=code).exists():
            raise Conflict(f"A playbook {code!r} exists already.", errors={"code": ["Already in use."]})
        now = timezone.now()
        playbook = Playbook.objects.create(
            code=code,
            name_zh=text_checked("name_zh", name_zh, limit=PLAYBOOK_NAME_MAX_LENGTH),
            name_en=text_checked("name_en", name_en, limit=PLAYBOOK_NAME_MAX_LENGTH),
            description=text_checked("description", description, required=False), definition=definition,
            clusters=as_codes(clusters), is_active=bool(is_active), updated_by=actor.label if actor else "system",
            created_at=now,
            updated_at=now,
        )
        _playbook_event(playbook, actor, "playbook.created", {"definition": definition})
    return playbook


PLAYBOOK_FIELDS = ("name_zh", "name_en", "description", "definition", "is_active")


def playbook_update(*, actor: Principal | None, playbook: Playbook, **changes) -> Playbook:
    """Change a playbook. Runs under way keep the version they froze; new runs take this one."""
    unknown = sorted(set(changes) - set(PLAYBOOK_FIELDS))
    if unknown:
        raise ValidationFailed.on(unknown[0], "This field does not exist or cannot be changed.")
    if "definition" in changes:
        changes["definition"] = playbook_definition_checked(actor=actor, definition=changes["definition"])
    for name in ("name_zh", "name_en"):
        if name in changes:
            changes[name] = text_checked(name, changes[name], limit=PLAYBOOK_NAME_MAX_LENGTH)
    if "description" in changes:
        changes["description"] = text_checked("description", changes["description"], required=False)
    with transaction.atomic():
        locked = Playbook.objects.select_for_update(no_key=True).get(pk=playbook.pk)
        _may_manage(actor, locked.definition["trigger"].get("clusters", []))
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, changes[name])
        locked.clusters = as_codes(locked.definition["trigger"].get("clusters", []))
        locked.version += 1
        locked.updated_by = actor.label if actor else "system"
        locked.updated_at = timezone.now()
        locked.save()
        _playbook_event(locked, actor, "playbook.updated", {"changed": changed})
    return locked
