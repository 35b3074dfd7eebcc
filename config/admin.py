"""What the admin pages of every app share (an edge: only admin modules import it)."""


class ReadOnlyAdmin:
    """Mixed into a ModelAdmin or an inline whose records the admin shows but never writes.

    Those records (incidents and their timelines, alerts, workflow runs, mutual aid) are
    written only through their app's services, which check the caller, write the audit entry
    and emit the event in one transaction; an add, edit or delete here would skip all three.
    Each admin module's docstring says what its own records would lose.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
