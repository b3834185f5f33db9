"""Production settings: every required value comes from the environment, and start-up stops without it."""

from ecopark.env import env_bool, env_int, env_list, env_required, env_str
from ecopark.settings.base import *  # noqa: F403
from ecopark.settings.base import database_settings, redis_settings

SECRET_KEY = env_required(
    "SECRET_KEY", "a long random string, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
)
DATABASES = database_settings(env_required("DATABASE_URL", "e.g. postgres://ecopark:PASSWORD@db:5432/ecopark."))
REDIS_URL = env_required("REDIS_URL", "e.g. redis://redis:6379/0 (Celery broker, results and cache).")
globals().update(redis_settings(REDIS_URL))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    env_required("ALLOWED_HOSTS", "the host names the site answers to, comma-separated.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{host}" for host in ALLOWED_HOSTS])
DEBUG = env_bool("DEBUG", default=False)

# HTTPS everywhere, except the health check that load balancers and compose call over plain HTTP inside the network.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
STATIC_ROOT = env_str("STATIC_ROOT") or STATIC_ROOT  # noqa: F405
