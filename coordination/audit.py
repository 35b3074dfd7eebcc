"""The audit trail: who did what to which object of which jurisdiction, one entry per write.

Below the registry's services and its authentication alike: both write entries (a revoked
token, a refused credential), as does every app's service layer.
"""

from coordination.models import AuditEntry
from coordination.principals import Principal


def audit_values(
    *,
    actor: Principal | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    object_jurisdiction: str = "",
    detail: dict | None = None,
) -> dict:
    """The columns of one audit entry: audit_record writes them, and the bulk intake
    (incidents.intake) inserts them in its one-statement insert."""
    return dict(
        user_id=actor.user_id if actor else None,
        client_id=actor.client_id if actor else None,
        actor=actor.label if actor else "system",
        actor_jurisdiction=actor.jurisdiction if actor else "",
        ip=actor.ip if actor else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_jurisdiction=object_jurisdiction,
        detail=detail or {},
    )


def audit_record(
    *,
    actor: Principal | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    object_jurisdiction: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction of the write it describes."""
    return AuditEntry.objects.create(**audit_values(
        actor=actor, action=action, object_type=object_type, object_id=object_id,
        object_jurisdiction=object_jurisdiction, detail=detail,
    ))
