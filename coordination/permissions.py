"""DRF permission classes over the one table in coordination.roles."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from coordination.principals import Principal
from coordination.roles import Action


class IsPrincipal(BasePermission):
    """Authenticated as an officer or an API client, and allowed to read."""

    def has_permission(self, request, view):
        return isinstance(request.user, Principal) and request.user.can(Action.READ)


def allows(read: Action = Action.READ, write: Action | None = None, **per_action: Action) -> type[BasePermission]:
    """A permission class: `read` for safe methods, `write` for the others, or per view action.

    `per_action` maps a viewset action name (`transition`, `accept`, ...) to what it needs,
    so each view states its needs in one line and the table in coordination.roles decides.
    """

    class _Allows(BasePermission):
        message = "Your role or scopes do not allow this."

        def has_permission(self, request, view):
            principal = request.user
            if not isinstance(principal, Principal):
                return False
            action_name = getattr(view, "action", None)
            if action_name in per_action:
                needed = per_action[action_name]
            elif request.method in SAFE_METHODS:
                needed = read
            else:
                needed = write
            return needed is not None and principal.can(needed)

    return _Allows
