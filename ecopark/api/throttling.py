"""Requests per key (or per user for the browser): over the limit answers 429 with Retry-After."""

from rest_framework.throttling import SimpleRateThrottle

from ecopark.cache import count_in_window
from ecopark.models import ApiKey


class KeyRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE per key, or the key's own `requests_per_minute` when staff set one.

    A counter per fixed window (one atomic increment in the cache per request, one round trip on Redis), not DRF's
    list of every request's time, which a busy key would read and write whole on every request.
    """

    scope = "api"

    def allow_request(self, request, view):
        if isinstance(request.auth, ApiKey) and request.auth.requests_per_minute:
            self.num_requests, self.duration = request.auth.requests_per_minute, 60
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        count = count_in_window(self.cache, f"{self.key}:{window}", self.duration + 1)
        return count <= self.num_requests

    def wait(self):
        return max(self.window_ends - self.now, 1)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
