"""Every API error has one shape: `{"error": {"status", "code", "message", "fields"}}`, in the caller's language."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from ecopark.middleware import RETRY_AFTER_SECONDS, is_query_cancelled, query_cancelled_message

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The object changed since the caller read it (an edit based on a stale version); `changes` lists what was
    saved since, and `version` is the version to send with a new attempt."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail=None, code=None, *, changes: list | None = None, version: int | None = None):
        super().__init__(detail, code)
        self.changes, self.version = changes, version


class QueryCancelled(exceptions.APIException):
    """The database cancelled a statement of this request (the statement timeout): try again after `Retry-After`."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "timeout"
    wait = RETRY_AFTER_SECONDS  # DRF's handler sends it as Retry-After

    def __init__(self):
        super().__init__(query_cancelled_message())


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def error_response(exc, context):
    """DRF's handler (which also sets WWW-Authenticate and Retry-After), then our shape."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ProtectedError):
        exc = Conflict(_("This record is still referred to by others and cannot be deleted."))
    elif is_query_cancelled(exc):
        logger.warning("%s: a statement was cancelled (%s)", context.get("view").__class__.__name__, exc)
        exc = QueryCancelled()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    error = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        error["code"] = "invalid"
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = _first_message(fields.get("non_field_errors")) or _("The data sent is not valid.")
        if "non_field_errors" not in fields:
            message = _("The data sent is not valid: %(detail)s") % {"detail": _first_message(fields)}
        error["message"] = message
        error["fields"] = {key: [str(m) for m in _flatten(value)] for key, value in fields.items()}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        error["code"] = codes if isinstance(codes, str) else "error"
        error["message"] = _first_message(detail)
        if isinstance(exc, Conflict) and exc.changes is not None:
            error["version"], error["changes"] = exc.version, exc.changes
    response.data = {"error": error}
    request = context.get("request")
    if request is not None:  # an error is JSON even when CSV was asked for
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
    return response


def _flatten(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            for message in _flatten(inner):
                yield f"{key}: {message}"
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            if isinstance(inner, dict | list):
                for message in _flatten(inner):
                    yield f"[{index}] {message}" if isinstance(inner, dict) else message
            else:
                yield str(inner)
    else:
        yield str(value)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status."},
                "code": {"type": "string", "description": "A stable code, e.g. invalid, not_found, throttled."},
                "message": {"type": "string", "description": "What went wrong, in the caller's language."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For invalid data: the messages of each field.",
                },
                "version": {"type": "integer", "description": "For a conflict: the version now stored."},
                "changes": {
                    "type": "array",
                    "description": "For a conflict: what was saved since the version sent, oldest first.",
                    "items": {
                        "type": "object",
                        "required": ["at", "actor", "channel", "action", "record", "changes"],
                        "properties": {
                            "at": {"type": "string", "format": "date-time"},
                            "actor": {"type": "string", "nullable": True},
                            "channel": {"type": "string"},
                            "action": {"type": "string", "enum": ["create", "update", "delete"]},
                            "record": {"type": "string", "description": "The measure, or which line of it."},
                            "changes": {
                                "type": "object",
                                "description": "Each field's old and new value, as stored.",
                                "additionalProperties": {"type": "array", "items": {}},
                            },
                        },
                    },
                },
            },
        }
    },
}
