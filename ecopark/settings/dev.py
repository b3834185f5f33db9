"""First-run and test settings: SQLite under var/ and in-process tasks unless the environment says otherwise."""

import secrets

from ecopark.env import env_bool, env_list, env_str
from ecopark.settings.base import *  # noqa: F403
from ecopark.settings.base import VAR_DIR, database_settings, redis_settings


def _development_secret_key() -> str:
    """A key generated once per checkout and kept in var/, so that sessions survive a restart."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key()
DEBUG = env_bool("DEBUG", default=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
DATABASES = database_settings(env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ecopark.sqlite3'}")
REDIS_URL = env_str("REDIS_URL")
globals().update(redis_settings(REDIS_URL))

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise expects it to exist)

# Plain static storage in development so that pages work before collectstatic has run.
STORAGES = {
    "default": STORAGES["default"],  # noqa: F405 (the folder or the bucket the environment names, as in production)
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
