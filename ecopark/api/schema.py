"""The schema says what every operation may answer besides success: errors in one shape, and when."""

from ecopark.api.exceptions import ERROR_SCHEMA

ERRORS = {
    "400": "The request is not valid: a query parameter (a filter, `page`, `page_size`, `ordering`, `cursor`, "
    "`format`) or a field that cannot be read or is out of bounds, named in `error.fields`. Query parameters an "
    "operation does not know are ignored.",
    "401": "No key or session, or the key is unknown, revoked or expired.",
    "403": "The caller's role may not do this (partners read only).",
    "404": "No such object, or not in the caller's scope.",
    "429": "Too many requests for this key: wait `Retry-After` seconds.",
    "503": "The database took too long and the request was stopped (the statement timeout): try again after "
    "`Retry-After` seconds.",
}
WRITE_ERRORS = {
    "405": "This resource is read-only.",
    "409": "The object changed since it was read (send the current `version`), or is still referred to.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation documents the errors it can answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            errors = dict(ERRORS)
            if method in ("post", "put", "patch", "delete"):
                errors.update(WRITE_ERRORS)
            for status, description in errors.items():
                operation.setdefault("responses", {}).setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
