"""Requests per key (or per user for the browser): over the limit answers 429 with Retry-After."""

from rest_framework.throttling import SimpleRateThrottle

from ecopark.models import ApiKey


class KeyRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE per key, or the key's own `requests_per_minute` when staff set one."""

    scope = "api"

    def allow_request(self, request, view):
        if isinstance(request.auth, ApiKey) and request.auth.requests_per_minute:
            self.num_requests, self.duration = request.auth.requests_per_minute, 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
