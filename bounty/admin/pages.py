"""What the bounty admin's pages share: the rows only the services write."""


class ReadOnlyInAdmin:
    """The admin shows these rows and never adds, changes or deletes one: the services write
    them, each by its own rules."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
