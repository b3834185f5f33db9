"""Writes of project-wide records: partners and their API keys."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ecopark.models import ApiKey
from ecopark.roles import Role, may_make_key_for, role_of

DEFAULT_KEY_DAYS = 365


@transaction.atomic
def apikey_create(*, owner, name: str, days: int = DEFAULT_KEY_DAYS, created_by=None) -> tuple[ApiKey, str]:
    """A new key for `owner`, valid for `days`; returns the row and the key, which is not stored and not shown again.

    `created_by` is the person making it (None: the command line, run by whoever runs the server)."""
    api_key = ApiKey(owner=owner, name=name, expires_at=timezone.now() + datetime.timedelta(days=days))
    return api_key, apikey_issue(api_key=api_key, created_by=created_by)


@transaction.atomic
def apikey_issue(*, api_key: ApiKey, created_by) -> str:
    """Give the unsaved `api_key` its secret and save it, made by `created_by`; returns the key (shown once).

    The one door for new keys (admin, commands, services): only an administrator makes a key for another user.
    """
    if created_by is not None and not may_make_key_for(created_by, api_key.owner):
        message = _("Only an administrator may make an API key for another user; make one for yourself.")
        raise ValidationError({"owner": ValidationError(message, code="not_own_key")})
    key, prefix = ApiKey.new_secret()
    api_key.set_key(key, prefix)
    api_key.created_by = created_by
    api_key.full_clean()
    api_key.save()
    return key


def apikey_revoke(*, api_key: ApiKey) -> None:
    """The key stops working at once; the row stays for the record."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


@transaction.atomic
def partner_create(*, name: str, days: int = DEFAULT_KEY_DAYS, created_by=None) -> tuple[ApiKey, str]:
    """A partner (a user in the partner role who logs in with keys only) and a first key named after it."""
    User = get_user_model()
    username = slugify(name)[:150] or "partner"
    user, created = User.objects.get_or_create(username=username, defaults={"first_name": name[:150]})
    if not created and role_of(user) not in (None, Role.PARTNER):
        raise ValueError(_("The user %(username)s already exists with another role.") % {"username": username})
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=Role.PARTNER.value))
    return apikey_create(owner=user, name=name, days=days, created_by=created_by)
