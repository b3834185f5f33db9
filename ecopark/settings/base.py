"""Settings shared by every environment. Values that differ come from the environment (see README)."""

import datetime
import re
import sys
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from ecopark.env import env_bool, env_int, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("ECOPARK_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "ecopark",
    "parks",
    "enterprises",
    "measures",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ecopark.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Answers to a logged-in user or an API key: `Cache-Control: private, no-store`.
    "ecopark.middleware.PrivateAnswersMiddleware",
    "ecopark.middleware.AuditContextMiddleware",
    # Deny by default: every view needs a logged-in user unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A statement cancelled by the statement timeout answers 503 with Retry-After, not 500.
    "ecopark.middleware.QueryCancelledMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ecopark.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: refuses log-ins after repeated failures.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ecopark.urls"
WSGI_APPLICATION = "ecopark.wsgi.application"
ASGI_APPLICATION = "ecopark.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # counts failures and refuses locked-out user names and addresses
    "django.contrib.auth.backends.ModelBackend",
]
# Lock-out: after LOGIN_FAILURE_LIMIT failures for one user name, or from one address, for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "ecopark.middleware.client_ip"
# How many proxies in front of the app append to X-Forwarded-For (0: use the connection's address).
PROXY_COUNT = env_int("PROXY_COUNT", default=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Vietnamese first; English as the other language of the programme.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_THOUSAND_SEPARATOR = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True
FORMAT_MODULE_PATH = ["ecopark.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "ecopark" / "static",
    # Installed from the npm registry by `make` (package.json); served by the app, never from a CDN.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "ecopark.staticfinders.VendorFinder",
]
# Single files of larger npm packages (package.json), served by the app: {static path: installed file}.
VENDOR_FILES = {
    "vendor/echarts/echarts.min.js": BASE_DIR / "node_modules" / "echarts" / "dist" / "echarts.min.js",
}


def media_storage() -> dict:
    """Where uploaded files (evidence, imports) are kept: one store that every web and worker process shares.

    The folder MEDIA_ROOT by default (on several machines, a volume they all mount); an S3-compatible bucket through
    django-storages when FILE_STORAGE is `s3`, or is unset and AWS_STORAGE_BUCKET_NAME is set.
    """
    bucket = env_str("AWS_STORAGE_BUCKET_NAME").strip()
    kind = env_str("FILE_STORAGE").strip().lower() or ("s3" if bucket else "filesystem")
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"The environment variable FILE_STORAGE must be filesystem or s3, not {kind!r}.")
    if not bucket:
        raise ImproperlyConfigured(
            "The environment variable AWS_STORAGE_BUCKET_NAME is required with FILE_STORAGE=s3: the bucket that keeps "
            "the uploaded files."
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL").strip() or None,  # None: Amazon S3 itself
            "region_name": env_str("AWS_S3_REGION_NAME").strip() or None,
            # Without keys boto3 looks further (an instance or task role, ~/.aws).
            "access_key": env_str("AWS_ACCESS_KEY_ID").strip() or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY").strip() or None,
            "location": env_str("AWS_LOCATION").strip("/ "),  # a folder inside the bucket, when it is shared
            # `path` (bucket in the path, not in the host name) for most servers other than Amazon's.
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE").strip() or None,
            "default_acl": None,  # the bucket's own policy: keep it private, files are served only through the app
            "querystring_auth": True,
            "file_overwrite": False,  # a name already taken gets a suffix, as in the folder
            "max_memory_size": 5 * 1024 * 1024,  # a file read back larger than this waits in a temporary file
        },
    }


STORAGES = {
    "default": media_storage(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def _static_file_headers(headers, path: str, url: str) -> None:
    """The Content-Security-Policy and nosniff on static files too (imported late: settings load before apps)."""
    from ecopark.middleware import static_file_headers

    static_file_headers(headers, path, url)


WHITENOISE_ADD_HEADERS_FUNCTION = _static_file_headers
# Uploaded files (evidence, imports) live outside the static root and are served only through views that check
# access; in this folder unless STORAGES["default"] is a bucket (media_storage).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
# The largest evidence file a user may upload (PDF, image or spreadsheet), in megabytes.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_MB", default=10) * 1024 * 1024
# The largest spreadsheet a user may import, in megabytes (refused before it is read).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_MB", default=20) * 1024 * 1024
# Imports with more rows than this are checked and written by a Celery task, with a progress bar.
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", default=300)
# The most rows a sheet of an import may reach: a cell below them (or right of 60 columns) refuses the file before
# its grid is built, so a stray cell at XFD1048576 costs a message, not the memory of a million rows.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", default=20000)
# API list pages kept in the cache between writes of the register (0: not kept). Any write changes the key at once;
# the time only bounds how long a page outlives a change the register's version does not see.
API_LIST_CACHE_SECONDS = env_int("API_LIST_CACHE_SECONDS", default=60)
# Django refuses request bodies larger than this before any view reads them (uploads stream to disk past 2.5 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The API (/api/v1/): partners' keys first (so that a missing key answers 401 with `WWW-Authenticate: Bearer`),
# then the browser's session. Every view is denied unless the caller's role allows it (ecopark.api.permissions).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ecopark.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ecopark.api.permissions.RoleAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["ecopark.api.throttling.KeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE", "300/minute")},
    "DEFAULT_FILTER_BACKENDS": [
        "ecopark.api.filters.FilterBackend",
        "ecopark.api.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "ecopark.api.pagination.ApiPagination",
    "DEFAULT_RENDERER_CLASSES": [
        "ecopark.api.renderers.JSONRenderer",
        "ecopark.api.renderers.CSVRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ecopark.api.exceptions.error_response",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": PROXY_COUNT,  # the throttle's client address, as for the log-in lock-out
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ecopark API",
    "DESCRIPTION": (
        "Read the register of Viet Nam's eco-industrial park programme (provinces, parks, enterprises, RECP "
        "measures and symbiosis exchanges) and its roll-ups of savings; programme staff may also write measures. "
        "Send a partner key as `Authorization: Bearer <key>`. Figures are annual rates; roll-ups say when they "
        'were computed (`as_of`). Errors are JSON: `{"error": {"status", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["ecopark.api.permissions.AnyRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ecopark.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "MeasureKindEnum": "measures.models.Measure.Kind",
        "OrganisationKindEnum": "enterprises.models.Organisation.Kind",
        "RollupKindEnum": "reports.api.serializers.KINDS",
        "RollupLevelEnum": "reports.api.serializers.LEVELS",
        "UnitEnum": "measures.units.UNIT_CHOICES",
        "MeasureStatusEnum": "measures.models.Measure.Status",
        "CurrencyEnum": "measures.models.Currency",
    },
}
# Park managers may also create and change their parks' measures (not only read them) when this is on.
PARK_MANAGERS_MAY_EDIT = env_bool("PARK_MANAGERS_MAY_EDIT", default=False)

# Celery, configured from these settings through the CELERY_ namespace (ecopark/celery.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# A task whose worker died unacknowledged goes back to the queue after this long on Redis (default: an hour): above
# the longest time limit, so that a task still running is never handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "rollup-nightly-rebuild": {
        "task": "reports.tasks.rollup_rebuild_all",
        "schedule": crontab(hour=2, minute=0),
        "kwargs": {"reason": "nightly rebuild"},
    },
    # Picks up changes whose scheduling message was lost (e.g. a broker restart), and recomputes of corrected factors
    # or rates whose task was lost (reports.models.FiguresPending).
    "rollup-pending-sweep": {
        "task": "reports.tasks.rollup_pending",
        "schedule": 300.0,
    },
    # Import jobs waiting for the queue (down when they were uploaded): sent; those whose worker died: failed, with
    # their message, files removed.
    "imports-abandoned-sweep": {
        "task": "measures.tasks.import_fail_abandoned_task",
        "schedule": 900.0,
    },
}
# PostgreSQL cancels a statement after this many milliseconds (0: never): in web requests below gunicorn's timeout,
# so that a slow query does not go on after its request has gone; in Celery tasks up to their soft time limit; in
# management commands (migrate, rollup_rebuild at a million measures), which nobody waits on through a proxy, as long
# as a task by default.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DB_TASK_STATEMENT_TIMEOUT_MS = env_int("DB_TASK_STATEMENT_TIMEOUT_MS", default=CELERY_TASK_SOFT_TIME_LIMIT * 1000)
DB_COMMAND_STATEMENT_TIMEOUT_MS = env_int("DB_COMMAND_STATEMENT_TIMEOUT_MS", default=DB_TASK_STATEMENT_TIMEOUT_MS)
# The management commands that serve web requests, and so keep the web's statement timeout.
WEB_COMMANDS = frozenset({"runserver"})
# Seconds to wait after a change before the incremental roll-up runs, so that an import makes one run, not many.
ROLLUP_DEBOUNCE_SECONDS = env_int("ROLLUP_DEBOUNCE_SECONDS", default=2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}


def database_settings(url: str) -> dict:
    """DATABASES from a DATABASE_URL, with persistent connections and health checks on PostgreSQL.

    The embedded SQLite is set up for a few people at once: WAL lets readers go on while one writes; every transaction
    takes the write lock when it begins (IMMEDIATE), so two writers queue for up to `timeout` seconds instead of one
    failing at once with "database is locked" when both started by reading.
    """
    import dj_database_url

    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"].endswith("sqlite3"):
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    if config["ENGINE"].endswith(("postgresql", "postgis")):  # the Celery worker raises it (ecopark.celery)
        options = config.setdefault("OPTIONS", {})
        options["options"] = with_statement_timeout(options.get("options", ""), statement_timeout_ms(sys.argv))
    return {"default": config}


def statement_timeout_ms(argv: list[str]) -> int:
    """The statement timeout of this process, by what it is: a management command (`manage.py migrate`,
    `django-admin …`, `python -m django …`) gets DB_COMMAND_STATEMENT_TIMEOUT_MS; web processes (gunicorn, the
    development server) and anything else the web's DB_STATEMENT_TIMEOUT_MS. Celery workers raise theirs on start."""
    return DB_COMMAND_STATEMENT_TIMEOUT_MS if runs_a_management_command(argv) else DB_STATEMENT_TIMEOUT_MS


def runs_a_management_command(argv: list[str]) -> bool:
    """Whether the command line `argv` runs a management command other than one serving web requests."""
    if len(argv) < 2:
        return False
    program = Path(argv[0])
    by_django = program.name in ("manage.py", "django-admin") or (
        program.name == "__main__.py" and program.parent.name == "django"  # python -m django
    )
    return by_django and argv[1] not in WEB_COMMANDS


def with_statement_timeout(options: str, milliseconds: int) -> str:
    """PostgreSQL connection `options` with `statement_timeout` set, in place of one they held."""
    kept = re.sub(r"-c\s*statement_timeout=\S*", "", options).strip()
    return f"{kept} -c statement_timeout={milliseconds}".strip()


def redis_settings(redis_url: str) -> dict:
    """Celery broker, result backend and cache on Redis, or in-process tasks and a local cache without it."""
    if redis_url:
        return {
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": False,
            "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
            "CACHES": {
                "default": {
                    "BACKEND": "ecopark.cache.RedisCache",
                    "LOCATION": redis_url,
                    # a Redis that hangs costs a request a second, then is left alone for a while (ecopark.cache)
                    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
                }
            },
        }
    return {
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "CELERY_TASK_ALWAYS_EAGER": True,
        "CELERY_TASK_EAGER_PROPAGATES": True,
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    }
