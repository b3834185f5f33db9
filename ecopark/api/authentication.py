"""Who is calling: a partner's key (`Authorization: Bearer ek_...`) or the browser's session."""

import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ecopark.models import KEY_PREFIX, ApiKey
from ecopark.roles import role_of

# A key's "last used" is written at most this often, so that reads do not each cost a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)
# A key, its owner and their role are kept in the cache this long; saving or revoking the key forgets it at once
# (signals), a change of the owner's role or activity takes effect within this time.
KEY_CACHE_SECONDS = 60


def cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def forget_key(prefix: str) -> None:
    cache.delete(cache_key(prefix))


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A bearer key: it must exist, match its digest, be neither revoked nor expired, and its owner be active."""

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
        api_key = cache.get(cache_key(parts[1]))
        if api_key is None:
            api_key = ApiKey.objects.select_related("owner").filter(prefix=parts[1]).first()
            if api_key is not None:
                role_of(api_key.owner)  # looked up once, kept with the key
                cache.set(cache_key(parts[1]), api_key, KEY_CACHE_SECONDS)
        if api_key is None or not api_key.matches(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        if api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not api_key.owner.is_active:
            raise exceptions.AuthenticationFailed(_("The owner of this API key is no longer active."))
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
            cache.set(cache_key(parts[1]), api_key, KEY_CACHE_SECONDS)
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
