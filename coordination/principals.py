"""The caller, whoever it is: an officer (web session or token) or a city system's API client.

Every service and selector takes a Principal, so the rules never ask how the caller logged in.
"""

from dataclasses import dataclass, field, replace

from config.errors import PermissionDenied
from coordination.models import BodyMembership, Role
from coordination.roles import Action, role_allows, scopes_allow


@dataclass(frozen=True)
class Principal:
    kind: str  # "officer" or "client"
    label: str
    jurisdiction: str  # GB/T 2260 code the caller acts for
    clusters: tuple[str, ...]
    role: str | None = None  # officers
    scopes: tuple[str, ...] = ()  # API clients
    user_id: int | None = None
    client_id: int | None = None
    token_id: int | None = None
    # Coordination bodies the officer acts for (with_bodies loads them where a body may be
    # addressed; empty otherwise, so that every other read costs no query for them).
    bodies: tuple[str, ...] = ()
    # Whether `bodies` was read (with_bodies): an officer seated on none is not asked again.
    bodies_read: bool = field(default=False, compare=False)
    ip: str | None = field(default=None, compare=False)

    # Lets DRF's and Django's "is the caller logged in" checks work on a Principal.
    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return f"{self.kind}:{self.user_id or self.client_id}"

    @property
    def is_officer(self) -> bool:
        return self.kind == "officer"

    @property
    def is_coordinator(self) -> bool:
        """A coordinator sees the whole of the clusters its jurisdiction belongs to."""
        return self.kind == "officer" and self.role == Role.COORDINATOR

    def can(self, action: Action) -> bool:
        if self.kind == "officer":
            return role_allows(self.role, action)
        return scopes_allow(list(self.scopes), action)

    def with_ip(self, ip: str | None) -> "Principal":
        return replace(self, ip=ip)

    def __str__(self) -> str:
        return f"{self.label}@{self.jurisdiction}"


def require(actor: Principal, action: Action, message: str = "Your role or scopes do not allow this.") -> None:
    """Raise PermissionDenied (403) with `message` unless the actor's role or scopes allow the
    action: the one check every service makes before a write. The message names what was
    refused where the caller can be told more than the default. A service that also accepts no
    actor (None: the system, an import command) decides that before calling this."""
    if not actor.can(action):
        raise PermissionDenied(message)


def with_bodies(principal: Principal) -> Principal:
    """The principal with the coordination bodies it acts for: those an officer is seated on
    (models.BodyMembership; one query). An API client acts for its jurisdiction alone. The
    reads and writes of what can be addressed to a body (acknowledgements and escalations:
    coordination.workflows.selectors and services) call this; the visibility rule then counts
    a body's officer among those concerned by what is addressed to the body
    (sharing.visibility.decide)."""
    if principal.kind != "officer" or principal.user_id is None or principal.bodies or principal.bodies_read:
        return principal
    codes = tuple(sorted(BodyMembership.objects.filter(user_id=principal.user_id).values_list("body_id", flat=True)))
    return replace(principal, bodies=codes, bodies_read=True)
