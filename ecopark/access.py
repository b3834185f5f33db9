"""Who may use the pages: every page view declares it with one of these decorators (deny by default).

Partners read through the API only; a user with no role reaches nothing but the log-in page. Which rows a user
sees is decided by the selectors (parks_visible_to and the rest), so a page and the API cannot disagree.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

from ecopark.roles import Role, may_write, role_of

READERS = (Role.ADMINISTRATOR, Role.STAFF, Role.PARK_MANAGER)


def may_read_pages(user) -> bool:
    return role_of(user) in READERS


def may_write_measures(user) -> bool:
    """Staff always; park managers (in their parks) when the programme allows it (PARK_MANAGERS_MAY_EDIT)."""
    return may_write(user, park_managers_allowed=True)


def may_write_enterprises(user) -> bool:
    return may_write(user)


def _requires(test):
    def decorator(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not test(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorator


page_readers = _requires(may_read_pages)
measure_writers = _requires(may_write_measures)
enterprise_writers = _requires(may_write_enterprises)
