"""The roles of the programme, held as Django groups, and how to tell which one a user has."""

from enum import StrEnum


class Role(StrEnum):
    """A user's role; the group of the same name grants it."""

    ADMINISTRATOR = "administrator"
    STAFF = "programme_staff"
    PARK_MANAGER = "park_manager"
    PARTNER = "partner"


def role_of(user) -> Role | None:
    """The strongest role a user holds, or None for an anonymous visitor or a user with no role."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    if not hasattr(user, "_ecopark_role"):  # one query per request, however often it is asked
        groups = set(user.groups.values_list("name", flat=True))
        ranked = (Role.ADMINISTRATOR, Role.STAFF, Role.PARK_MANAGER, Role.PARTNER)
        user._ecopark_role = next((role for role in ranked if role.value in groups), None)
    return user._ecopark_role


def may_write(user, *, park_managers_allowed: bool = False) -> bool:
    """Programme staff and administrators write; park managers too where the data allows it (their parks' measures)
    and the programme allows it (PARK_MANAGERS_MAY_EDIT). The one rule for pages and API."""
    from django.conf import settings

    role = role_of(user)
    if role in (Role.ADMINISTRATOR, Role.STAFF):
        return True
    return park_managers_allowed and role == Role.PARK_MANAGER and settings.PARK_MANAGERS_MAY_EDIT


def may_make_key_for(creator, owner) -> bool:
    """Anyone may make API keys for themselves; only an administrator makes them for another user."""
    return creator.pk == owner.pk or role_of(creator) == Role.ADMINISTRATOR


def holds_rights_of(creator, owner) -> bool:
    """Whether `creator` (active) may do all that `owner` may: a key they made never carries more than they hold.

    The owner themselves; an administrator; programme staff for anyone but an administrator (staff read and write
    the whole programme). A park manager's parks are not another's, nor a partner's reads a park manager's.
    """
    if creator.pk == owner.pk:
        return True
    creator_role = role_of(creator)  # None when the creator is no longer active
    return creator_role == Role.ADMINISTRATOR or (creator_role == Role.STAFF and role_of(owner) != Role.ADMINISTRATOR)


def sees_all_parks(user) -> bool:
    """Administrators and programme staff see the whole programme."""
    return role_of(user) in (Role.ADMINISTRATOR, Role.STAFF)


# Models whose rows programme staff may add, change and delete in the admin.
STAFF_EDITABLE_APPS = ("parks", "enterprises", "measures", "reports")


def ensure_role_groups(**kwargs) -> None:
    """Create the role groups and give programme staff and administrators their model permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    editable = Permission.objects.filter(content_type__app_label__in=STAFF_EDITABLE_APPS).exclude(
        codename__in=["add_statuschange", "change_statuschange", "delete_statuschange"]
    )
    audit = Permission.objects.filter(
        content_type__app_label="ecopark",
        codename__in=["view_auditentry", "view_apikey", "add_apikey", "change_apikey"],
    )
    for role in (Role.ADMINISTRATOR, Role.STAFF):
        groups[role].permissions.add(*editable, *audit)
