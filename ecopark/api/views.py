"""What every API view shares: changes are audited as the caller's through the API channel."""

import contextlib
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ecopark.audit import audit_context
from ecopark.counts import REGISTER, versions_of
from ecopark.roles import role_of
from parks.selectors import visible_park_ids


def parks_scope(user) -> str:
    """The parks a caller sees, as text for cache keys."""
    parks = visible_park_ids(user)
    return "all" if parks is None else ",".join(map(str, sorted(parks)))


class AuditedMixin:
    """Writes made while answering are recorded with the authenticated caller (key or session) and channel "api"."""

    def initial(self, request, *args, **kwargs):
        self._audit = contextlib.ExitStack()
        super().initial(request, *args, **kwargs)  # authenticates: request.user is the key's owner from here on
        self._audit.enter_context(audit_context(actor=request.user, channel="api"))

    def finalize_response(self, request, response, *args, **kwargs):
        audit = getattr(self, "_audit", None)
        if audit is not None:
            audit.close()
        return super().finalize_response(request, response, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # DRF answers an unknown `format` with 404, as if the list did not exist: it is the parameter that is wrong.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            formats = sorted({renderer.format for renderer in self.get_renderers()})
            raise ValidationError(
                {"format": [_("Unknown format; choose among %(formats)s.") % {"formats": ", ".join(formats)}]}
            ) from None


class ReadOnlyViewSet(AuditedMixin, viewsets.ReadOnlyModelViewSet):
    """A list and a detail of reference data; both read the same scoped queryset."""


class ModelViewSet(AuditedMixin, viewsets.ModelViewSet):
    """Reads for every role, writes for staff (see RoleAccess); the queryset is scoped to the caller."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]


class CachedListMixin:
    """List pages kept in the cache until the register changes: a partner's script polling the same page reads it
    from the cache rather than from a million rows.

    The key holds what the page depends on: the versions of `list_cache_versions` (every write changes one: the
    register's on any audited write, a table's on any write to it), the caller's role and parks (so confidentiality
    and scope are those of the caller), the language and the full URL. Authentication, permissions and throttling
    run before, on every request.
    """

    list_cache_versions: tuple[str, ...] = (REGISTER,)

    def list(self, request, *args, **kwargs):
        key = self._list_cache_key(request)
        if key is not None and (data := cache.get(key)) is not None:
            return Response(data)
        response = super().list(request, *args, **kwargs)
        if key is not None and response.status_code == 200:
            cache.set(key, response.data, settings.API_LIST_CACHE_SECONDS)
        return response

    def list_versions(self) -> dict[str, str]:
        """The versions of `list_cache_versions` by name, read once per request (a view answers one request)."""
        if getattr(self, "_list_versions", None) is None:
            self._list_versions = dict(zip(self.list_cache_versions, versions_of(*self.list_cache_versions),
                                           strict=True))  # fmt: skip
        return self._list_versions

    def _list_cache_key(self, request) -> str | None:
        if settings.API_LIST_CACHE_SECONDS <= 0:
            return None
        scope = parks_scope(request.user)
        versions = ",".join(self.list_versions().values())
        raw = f"{role_of(request.user)}|{scope}|{get_language()}|{request.build_absolute_uri()}|{versions}"
        return f"api-list:{type(self).__name__}:{hashlib.sha256(raw.encode()).hexdigest()}"
