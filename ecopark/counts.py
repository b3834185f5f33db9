"""Counts of big lists, kept in the cache between writes of their table.

Counting a million rows on every page costs more than the page itself. The count of a query is kept under a
version of its table that every write changes (at once, and again when it commits), so it is never stale.

Versions live in the shared cache. What is kept under a version may also be kept in the process (`ProcessMemo`):
a request that has read the current version then needs no further call to the cache. While the cache cannot be
reached, each read gets a version no one has seen, so counts are computed afresh (see ecopark.cache).
"""

import hashlib
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import QuerySet

COUNT_TTL = 24 * 60 * 60
T = TypeVar("T")


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
    if version is None:  # the cache cannot be reached: a version no one has seen, so nothing kept earlier is used
        version = uuid.uuid4().hex
    return version


def versions_of(*names: str) -> tuple[str, ...]:
    """The current versions of several tables (or the register), read in one call to the cache."""
    keys = [_version_key(name) for name in names]
    found = cache.get_many(keys)
    return tuple(found.get(key) or version_of(name) for key, name in zip(keys, names, strict=True))


class ProcessMemo:
    """Values kept in this process under the version they were read at; a new version forgets all of them.

    Holds at most `limit` values, so that a version that never changes cannot grow it without bound.
    """

    def __init__(self, limit: int = 10_000):
        self.limit = limit
        self._kept: tuple[str | None, dict] = (None, {})

    def under(self, version: str) -> dict:
        """The values kept under `version` (a dict to read and fill); empty when the version changed."""
        kept = self._kept  # the version and its values are replaced together: threads never see one without the other
        if kept[0] != version or len(kept[1]) > self.limit:
            kept = self._kept = (version, {})
        return kept[1]


_counts = ProcessMemo(limit=1_000)
_values = ProcessMemo(limit=1_000)


def cached_value(key: str, compute: Callable[[], T], *, version: str, memo: ProcessMemo = _values) -> T:
    """A value computed from the register (counts, say), from the process, the cache, or computed and remembered.

    `key` names what is computed and for whom; `version` is the version of what it was computed from, as the caller
    read it (`versions_of`). A value this process has seen under that version costs no call to the cache, and any
    write changes the version, so a value kept is never stale. The value must pickle (the cache keeps it). Callers
    that keep values under different versions keep them in different memos (one holds one version at a time).
    """
    key = f"value:{hashlib.sha256(key.encode()).hexdigest()}"
    kept_here = memo.under(version)
    if key in kept_here:
        return kept_here[key]
    kept = cache.get(key)
    if kept is not None and kept[0] == version:
        value = kept[1]
    else:
        value = compute()
        cache.set(key, (version, value), COUNT_TTL)
    kept_here[key] = value
    return value


def cached_count(queryset: QuerySet, count: Callable[[], int], *, scope: str, version: str) -> int:
    """The count of `queryset` (computed by `count`) from the process, the cache, or computed and remembered.

    The count is kept under `scope`, what the queryset depends on as the caller can say it (cheaper than compiling
    its SQL: a millisecond for a page's query), and under `version`, the table's version the caller read
    (`versions_of`); a count this process has seen under that version costs no call to the cache.
    """
    table = queryset.model._meta.db_table
    return cached_value(f"count:{table}:{scope}", count, version=f"{table}:{version}", memo=_counts)


def kept_count(*names: str) -> Callable[[QuerySet], int]:
    """For a list page (`ecopark.listing.ListPage(count=...)`): the count of its rows, kept under the versions of the
    tables (or the register) that `names` says the rows depend on, and under the rows' SQL, which holds everything
    that decides them (the user's parks, the filters, the search)."""

    def count(rows: QuerySet) -> int:
        try:
            sql, params = rows.order_by().query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing: Django answers 0 without asking the database
            return rows.count()
        return cached_count(rows, rows.count, scope=repr((sql, params)), version=":".join(versions_of(*names)))

    return count
