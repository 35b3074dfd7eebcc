"""Officers who sit on a coordination body and act for it (models.BodyMembership).

A body (the cluster committee, a circle's joint conference) is a recipient of escalation
(docs/playbooks.md, "Escalation"); its officers are how it answers. They are managed here, by
the admin and by `manage.py body_member`; which bodies a caller acts for is
coordination.principals.with_bodies.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from config.errors import ValidationFailed
from coordination.audit import audit_record
from coordination.models import BodyMembership, CoordinationBody, Membership
from coordination.principals import Principal


def _body(code: str) -> CoordinationBody:
    body = CoordinationBody.objects.filter(code=code).first()
    if body is None:
        raise ValidationFailed.on("body", f"Unknown coordination body {code!r}.")
    return body


def _officer(username: str):
    user = get_user_model().objects.filter(username=username).select_related("membership").first()
    if user is None:
        raise ValidationFailed.on("user", f"No user {username!r}.")
    # A body's officer acts with their own role and is audited under their own jurisdiction.
    if not Membership.objects.filter(user=user).exists():
        raise ValidationFailed.on("user", f"{username!r} is not an officer (no jurisdiction and role); "
                                          "create it with create_officer first.")
    return user


def body_member_add(*, body: str, username: str, actor: Principal | None = None) -> bool:
    """Seat an officer on a body; whether they were not seated already."""
    seat, user = _body(body), _officer(username)
    with transaction.atomic():
        _, created = BodyMembership.objects.get_or_create(user=user, body=seat)
        if created:
            audit_record(actor=actor, action="body_member.added", object_type="user", object_id=str(user.pk),
                         object_jurisdiction=user.membership.jurisdiction_id,
                         detail={"body": seat.code, "username": username})
    return created


def body_member_remove(*, body: str, username: str, actor: Principal | None = None) -> bool:
    """Unseat an officer; whether they were seated."""
    seat, user = _body(body), _officer(username)
    with transaction.atomic():
        deleted, _ = BodyMembership.objects.filter(user=user, body=seat).delete()
        if deleted:
            audit_record(actor=actor, action="body_member.removed", object_type="user", object_id=str(user.pk),
                         object_jurisdiction=user.membership.jurisdiction_id,
                         detail={"body": seat.code, "username": username})
    return bool(deleted)


def body_member_members(*, body: str) -> list[tuple[str, str, str]]:
    """(username, jurisdiction, role) of each officer seated on the body."""
    _body(body)
    return list(BodyMembership.objects.filter(body_id=body).order_by("user__username").values_list(
        "user__username", "user__membership__jurisdiction_id", "user__membership__role"))
