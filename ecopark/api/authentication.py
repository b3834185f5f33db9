"""Who is calling: a partner's key (`Authorization: Bearer ek_...`) or the browser's session."""

import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ecopark.models import KEY_PREFIX, ApiKey
from ecopark.roles import holds_rights_of, role_of

# A key's "last used" is written at most this often, so that reads do not each cost a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)
# A key, its owner and creator and their roles are kept in the cache this long. Any change of the key or of either
# user (save, update in bulk, delete, group membership; ecopark.signals) forgets it at once.
KEY_CACHE_SECONDS = 60
# What a forgotten key's cache entry holds for KEY_CACHE_SECONDS: a request that read the key before the change
# committed cannot cache its stale copy over it (`add`), and the next requests read the database.
FORGOTTEN = "forgotten"


def cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def forget_key(prefix: str) -> None:
    cache.set(cache_key(prefix), FORGOTTEN, KEY_CACHE_SECONDS)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A bearer key: it must exist, match its digest, be neither revoked nor expired, its owner be active, and the
    person who made it be active and hold at least the owner's rights (`holds_rights_of`)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as: Authorization: Bearer <key>."))
        key = header[1].decode("latin-1")
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        prefix = parts[1]
        api_key = cache.get(cache_key(prefix))
        cached = isinstance(api_key, ApiKey)  # else not cached, or FORGOTTEN a moment ago
        if not cached:
            api_key = ApiKey.objects.select_related("owner", "created_by").filter(prefix=prefix).first()
        if api_key is None or not api_key.matches(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        if api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not api_key.owner.is_active:
            raise exceptions.AuthenticationFailed(_("The owner of this API key is no longer active."))
        creator = api_key.created_by  # None: made on the command line
        if creator is not None and not creator.is_active:
            raise exceptions.AuthenticationFailed(_("The person who made this API key is no longer active."))
        if creator is not None and not holds_rights_of(creator, api_key.owner):  # the roles: looked up once, cached
            raise exceptions.AuthenticationFailed(_("This API key carries more rights than the person who made it."))
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            # a cached copy keeps the time it was read: the first request past the resolution writes it
            if not cached or cache.add(f"{cache_key(prefix)}:used", True, int(LAST_USED_RESOLUTION.total_seconds())):
                ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        if not cached:  # add, not set: a key forgotten while it was read stays forgotten
            role_of(api_key.owner)  # looked up once, kept with the key
            cache.add(cache_key(prefix), api_key, KEY_CACHE_SECONDS)
        return api_key.owner, api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the schema describes the key."""

    target_class = ApiKeyAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner key (`ek_...`), created by programme staff or `manage.py create_partner`.",
        }
