"""Counts of big lists, kept in the cache between writes of their table.

Counting a million rows on every page costs more than the page itself. The count of a query is kept under a
version of its table that every write changes (at once, and again when it commits), so it is never stale.
"""

import hashlib
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import QuerySet

COUNT_TTL = 24 * 60 * 60


def _version_key(table: str) -> str:
    return f"count-version:{table}"


def bump_count_version(table: str) -> None:
    """Forget the cached counts of a table: called on every write to it (signals and bulk writers do)."""

    def bump():
        cache.set(_version_key(table), uuid.uuid4().hex, COUNT_TTL)

    bump()
    transaction.on_commit(bump)


REGISTER = "register"  # a version of the whole register: every audited write changes it (ecopark.audit)


def version_of(table: str) -> str:
    """The current version of a table's (or the register's) contents, for cache keys."""
    version = cache.get(_version_key(table))
    if version is None:
        cache.add(_version_key(table), uuid.uuid4().hex, COUNT_TTL)
        version = cache.get(_version_key(table))
    return version


def cached_count(queryset: QuerySet, count: Callable[[], int]) -> int:
    """The count of `queryset` (computed by `count`) from the cache, or computed and remembered."""
    table = queryset.model._meta.db_table
    version = version_of(table)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. a filter on an empty list of parks: nothing to count
        return 0
    digest = hashlib.sha256(f"{sql}|{params!r}".encode()).hexdigest()
    key = f"count:{table}:{version}:{digest}"
    value = cache.get(key)
    if value is None:
        value = count()
        cache.set(key, value, COUNT_TTL)
    return value
