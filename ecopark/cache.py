"""The Redis cache, with one client per connection pool and a counter in one round trip.

Django's Redis backend builds a new `redis.Redis` for every call; with redis-py 5 and later that copies the table of
response callbacks each time, about a tenth of a millisecond per call, several calls per API request. A client
built on a pool is safe to share between threads, so one is kept per pool.

When Redis cannot be reached the cache acts as one that keeps nothing, so that pages and the API are served from the
database instead of failing: reads miss, writes are dropped, and the throttle counts in the process. The keys written
meanwhile are deleted as soon as Redis answers again, so that nothing it held from before (a count under an old
version, a key since revoked) is read as current. Redis is tried again every RETRY_AFTER_SECONDS, not on every call
(each would wait for its timeout); the outage is logged once when it begins and once when it ends.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

logger = logging.getLogger(__name__)

# While Redis cannot be reached, calls do not try it again for this many seconds.
RETRY_AFTER_SECONDS = 5.0
# The most keys an outage remembers to delete; past it the end of the outage logs that some may be stale.
DROPPED_LIMIT = 100_000
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)  # BusyLoadingError (a restart reading its file) included


def _where(url: str) -> str:
    """Host, port and database of a Redis URL, without its password, for the log."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


class _Outage:
    """Whether one Redis is unreachable, shared by the threads of the process (Django keeps a cache per thread)."""

    def __init__(self, where: str):
        self.where = where
        self.since: float | None = None  # when the outage began (monotonic); None while Redis answers
        self.retry_at = 0.0
        self._dropped: set[str] = set()
        self._overflowed = False
        self._lock = threading.Lock()

    def waiting(self) -> bool:
        """Redis is unreachable and is not to be tried again yet."""
        return self.since is not None and time.monotonic() < self.retry_at

    def began(self, error: Exception, dropped: Iterable[str]) -> None:
        with self._lock:
            now = time.monotonic()
            self.retry_at = now + RETRY_AFTER_SECONDS
            self._drop(dropped)
            if self.since is None:
                self.since = now
                logger.warning(
                    "The cache (Redis at %s) cannot be reached (%s): pages and the API are served from the database, "
                    "the API throttle counts in each process; trying again every %s s.",
                    self.where,
                    error,
                    RETRY_AFTER_SECONDS,
                )

    def dropped(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._drop(keys)

    def _drop(self, keys: Iterable[str]) -> None:
        for key in keys:
            if len(self._dropped) >= DROPPED_LIMIT:
                self._overflowed = True
                return
            self._dropped.add(key)

    def ended(self, client: redis.Redis) -> None:
        """Redis answers again: the keys written meanwhile are deleted first (raises if it went away again)."""
        with self._lock:
            if self.since is None:  # another thread saw the end first
                return
            dropped = list(self._dropped)
            for start in range(0, len(dropped), 1000):
                client.delete(*dropped[start : start + 1000])
            logger.info(
                "The cache (Redis at %s) answers again after %.0f s; %s keys written meanwhile were deleted.",
                self.where,
                time.monotonic() - self.since,
                len(dropped),
            )
            if self._overflowed:
                logger.error(
                    "More than %s keys were written while the cache was unreachable; those not deleted may be read "
                    "stale until they expire.",
                    DROPPED_LIMIT,
                )
            self.since, self._dropped, self._overflowed = None, set(), False


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(url: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(url, _Outage(_where(url)))


class _Client(RedisCacheClient):
    """One client per pool; every call goes through `_call`, which answers as an empty cache while Redis is away."""

    def __init__(self, servers, *args, **kwargs):
        super().__init__(servers, *args, **kwargs)
        self._clients = {}
        self._outage = _outage_of(servers[0])

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def _call(self, method: Callable, *args, writes: Iterable[str] = (), fallback=None):
        """`method(*args)`, or `fallback` when Redis cannot be reached; the keys it `writes` are then remembered."""
        outage = self._outage
        if outage.waiting():
            outage.dropped(writes)
            return fallback
        try:
            if outage.since is not None:
                outage.ended(self.get_client(write=True))
            return method(*args)
        except UNREACHABLE as error:
            outage.began(error, writes)
            for pool in self._pools.values():  # connections opened before the outage are not used after it
                pool.disconnect(inuse_connections=False)
            return fallback

    def add(self, key, value, timeout):
        return self._call(super().add, key, value, timeout, writes=(key,), fallback=False)

    def get(self, key, default):
        return self._call(super().get, key, default, fallback=default)

    def set(self, key, value, timeout):
        return self._call(super().set, key, value, timeout, writes=(key,))

    def touch(self, key, timeout):
        return self._call(super().touch, key, timeout, writes=(key,), fallback=False)

    def delete(self, key):
        return self._call(super().delete, key, writes=(key,), fallback=False)

    def get_many(self, keys):
        return self._call(super().get_many, keys, fallback={})

    def has_key(self, key):
        return self._call(super().has_key, key, fallback=False)

    def incr(self, key, delta):
        value = self._call(super().incr, key, delta, writes=(key,))
        if value is None:  # as for a missing key: what Redis holds cannot be read
            raise ValueError(f"Key '{key}' not found.")
        return value

    def set_many(self, data, timeout):
        return self._call(super().set_many, data, timeout, writes=list(data))

    def delete_many(self, keys):
        return self._call(super().delete_many, keys, writes=list(keys))

    def clear(self):
        return self._call(super().clear, fallback=False)

    def count_in_window(self, key: str, seconds: int) -> int | None:
        """The new count of the counter `key` (one round trip), or None when Redis cannot be reached."""

        def count() -> int:
            pipe = self.get_client(key, write=True).pipeline(transaction=True)
            pipe.set(key, 0, ex=seconds, nx=True)
            pipe.incr(key)
            return pipe.execute()[1]

        return self._call(count)


# Counters of the throttle while Redis is away, shared by the threads of the process.
_counted_here = LocMemCache("ecopark-counted-here", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


class RedisCache(DjangoRedisCache):
    """Django's Redis cache with shared clients, `count_in_window` for the API's throttle, and no error when Redis
    cannot be reached (see the module's docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client

    def count_in_window(self, key: str, seconds: int) -> int:
        """Add one to the counter `key`, created with a life of `seconds`; the new count (one round trip).

        While Redis is away the counter is kept in the process: each process then allows the limit on its own.
        """
        key = self.make_and_validate_key(key)
        counted = self._cache.count_in_window(key, seconds)
        return count_in_window(_counted_here, key, seconds) if counted is None else counted


def count_in_window(cache, key: str, seconds: int) -> int:
    """The same for any cache (the local one of the embedded default: add, then increment)."""
    if hasattr(cache, "count_in_window"):  # `cache` may be Django's proxy of the default cache: asked, not typed
        return cache.count_in_window(key, seconds)
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:  # the counter expired between the two calls
        cache.set(key, 1, seconds)
        return 1
