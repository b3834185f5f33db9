"""What every API view shares: changes are audited as the caller's through the API channel."""

import contextlib

from rest_framework import viewsets

from ecopark.audit import audit_context


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


class ReadOnlyViewSet(AuditedMixin, viewsets.ReadOnlyModelViewSet):
    """A list and a detail of reference data; both read the same scoped queryset."""


class ModelViewSet(AuditedMixin, viewsets.ModelViewSet):
    """Reads for every role, writes for staff (see RoleAccess); the queryset is scoped to the caller."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
