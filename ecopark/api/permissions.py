"""Who may do what through the API. Reads: anyone with a role (scope is the queryset's business). Writes: staff."""

from rest_framework import permissions

from ecopark.roles import may_write, role_of


class RoleAccess(permissions.BasePermission):
    """Deny unless the caller has a role; writes only for programme staff and administrators, and for park managers
    on views that allow it (`park_managers_may_write`) when the programme allows it (PARK_MANAGERS_MAY_EDIT)."""

    def has_permission(self, request, view) -> bool:
        if role_of(request.user) is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return may_write(request.user, park_managers_allowed=getattr(view, "park_managers_may_write", False))


class PageReaders(permissions.BasePermission):
    """The data of the pages (dashboards): the people who use the pages, for reading; not partners' keys."""

    def has_permission(self, request, view) -> bool:
        from ecopark.access import may_read_pages

        return may_read_pages(request.user) and request.method in permissions.SAFE_METHODS


class AnyRole(permissions.BasePermission):
    """The schema and the documentation: anyone with a role, for reading."""

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None and request.method in permissions.SAFE_METHODS
