"""The Redis cache, with one client per connection pool and a counter in one round trip.

Django's Redis backend builds a new `redis.Redis` for every call; with redis-py 5 and later that copies the table of
response callbacks each time, about a tenth of a millisecond per call, several calls per API request. A client
built on a pool is safe to share between threads, so one is kept per pool.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache with shared clients, and `count_in_window` for the API's throttle."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client

    def count_in_window(self, key: str, seconds: int) -> int:
        """Add one to the counter `key`, created with a life of `seconds`; the new count (one round trip)."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=seconds, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]


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
