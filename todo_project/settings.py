"""The only module that reads the environment (and ``.env``); see CONTRACT §3."""

import importlib.util
import logging
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values, load_dotenv

from edge import logs
from todo_project.env import env_bool, env_float, env_int, env_list, env_rate, env_str

# Lets annotations such as ModelAdmin[Task] and QuerySet[Task] work at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# The real environment wins over .env; DJANGO_ENV_FILE=/dev/null ignores the file. Outside
# DEBUG a start that read one logs which file and which names it took (todo_project.apps).
_env_file = Path(env_str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")))
ENV_FILE_LOADED = str(_env_file) if _env_file.is_file() else ""
ENV_FILE_NAMES = sorted(
    name for name in (dotenv_values(_env_file) if ENV_FILE_LOADED else {}) if name not in os.environ
)
load_dotenv(_env_file, override=False)

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY", default="django-insecure-dev-only-not-secret" if DEBUG else None
)
# Earlier keys, still accepted for signatures (the stored JWKS) while a key change rolls out.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "ninja",
    "authbridge",
    "tasks",
    "todo_project",
]
# `make lint` checks new migrations for backward compatibility (the development lock only).
if DEBUG and importlib.util.find_spec("django_migration_linter") is not None:
    INSTALLED_APPS.append("django_migration_linter")
MIGRATION_LINTER_OPTIONS = {
    "include_apps": ["tasks"],
    "no_cache": True,
    # Acknowledged: shipped before the check existed. 0004 renamed a column the release before
    # it read (the window DEPLOY.md "Changing the schema" now ships as expand, then contract).
    "ignore_name": [
        "0001_initial",
        "0002_version_and_idempotency",
        "0003_timestamps_set_in_save",
        "0004_scoped_managers_and_snapshot",
    ],
}

MIDDLEWARE = [
    # First, so every answer is counted and timed (the log line included), and every response
    # (redirects, 404s) carries X-Request-ID and gets its log line.
    "edge.metrics.MetricsMiddleware",
    "edge.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Before anything reads the Host (SecurityMiddleware does not for the exempt probe paths):
    # probes come with the pod's or target's IP as Host.
    "edge.health.ProbeMiddleware",
    # Django's session, auth and messages middleware, skipped under /api/ (admin only)
    "edge.middleware.SessionOutsideApi",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # as is: `check --deploy` looks for it
    "edge.middleware.AuthenticationOutsideApi",
    "edge.middleware.MessageOutsideApi",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
WSGI_APPLICATION = "todo_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: SQLite by default, PostgreSQL (psycopg 3) in production -----------------
SQLITE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", default=SQLITE_URL)
try:
    _db = dj_database_url.parse(DATABASE_URL)
except ValueError as exc:  # unknown scheme or unparsable URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE avoids "database is locked" on concurrent writers; WAL lets readers run meanwhile.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with psycopg's C timestamp loader in place of Django's Python one.
        _db["ENGINE"] = "edge.postgresql"
    _db["CONN_MAX_AGE"] = env_int("DJANGO_CONN_MAX_AGE", default=600, minimum=0)
    # A SELECT 1 before each request's first query on a reused connection: after a PostgreSQL
    # restart no request fails on a dead connection. Behind PgBouncer it buys nothing (the
    # client connection survives a server restart) and costs a round trip per request.
    _db["CONN_HEALTH_CHECKS"] = env_bool("DJANGO_CONN_HEALTH_CHECKS", default=True)
    _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT", default=5, minimum=1
    )
    # One heavy request must not hold a connection (and a worker) for long; 0 switches it off.
    _timeout_ms = env_int("DATABASE_STATEMENT_TIMEOUT_MS", default=10_000, minimum=0)
    _db["OPTIONS"]["options"] = (
        _db["OPTIONS"].get("options", "") + f" -c statement_timeout={_timeout_ms}"
    ).strip()
DATABASES = {"default": _db}

# --- shared cache (CONTRACT §3): Redis when REDIS_URL is set, else per-process memory -------
# It holds the rate-limit counters; edge.cache fails open, so Redis down is no outage.
REDIS_URL = env_str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
CACHES = {
    "default": {
        "BACKEND": "edge.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", default="todo"),
        "OPTIONS": {
            # A hung Redis must cost a request milliseconds, not the gunicorn timeout.
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
            # JSON, never pickle: a write to Redis must not be code run in the app.
            "serializer": "edge.cache.JsonSerializer",
        },
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- rate limits per user (CONTRACT §3, §5): Ninja's "N/period" form ----------------------
# Counted in Redis (one round trip, shared, failing open) when REDIS_URL is set (edge.counters).
RATE_LIMIT_COUNTER = f"edge.counters.{'RedisCounter' if REDIS_URL else 'CacheCounter'}"
RATE_LIMIT_READS = env_rate("RATE_LIMIT_READS", default="600/min")
RATE_LIMIT_WRITES = env_rate("RATE_LIMIT_WRITES", default="120/min")
TASKS_PER_USER_MAX = env_int("TASKS_PER_USER_MAX", default=10_000, minimum=1)

# --- metrics (edge.metrics): /metrics wants this bearer token, or a loopback client ---
METRICS_TOKEN = env_str("METRICS_TOKEN", default="")
_multiproc_dir = env_str("PROMETHEUS_MULTIPROC_DIR", default="")
if _multiproc_dir and not Path(_multiproc_dir).is_dir():
    raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR must name an existing directory.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files: whitenoise serves the admin's and the API docs' assets under gunicorn ---
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- request limits (CONTRACT §8): bodies over 64 KiB answer 413 -----------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# --- security: safe by default outside debug; `manage.py check --deploy` is clean --------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe and Prometheus scrapes over plain HTTP; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$", r"^metrics$"]
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- CORS: the frontend origins (CONTRACT §3) -------------------------------------------
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000"] if DEBUG else []
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-none-match",
)
CORS_EXPOSE_HEADERS = ("etag", "location", "retry-after", "www-authenticate")
CORS_PREFLIGHT_MAX_AGE = 600

# --- Better Auth token verification (CONTRACT §2, §3): authbridge's settings -------------
# The Django settings are authbridge's BETTER_AUTH_* names (authbridge/docs/settings.md);
# the environment variables keep the names CONTRACT §3 gives them.
BETTER_AUTH_URL = env_str("BETTER_AUTH_URL", default="")
BETTER_AUTH_JWKS_URL = env_str("BETTER_AUTH_JWKS_URL", default="")
BETTER_AUTH_JWKS = env_str("BETTER_AUTH_JWKS", default="")
BETTER_AUTH_SECRET = env_str("BETTER_AUTH_SECRET", default="")
BETTER_AUTH_SECRETS = env_str("BETTER_AUTH_SECRETS", default="")
BETTER_AUTH_ISSUER = env_str("BETTER_AUTH_ISSUER", default="")
BETTER_AUTH_AUDIENCE = env_list("BETTER_AUTH_AUDIENCE")
BETTER_AUTH_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", default=10, minimum=0)
BETTER_AUTH_JWKS_CACHE_SECONDS = env_float("JWKS_CACHE_SECONDS", default=300.0, minimum=0.0)
BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS = env_float(
    "JWKS_REFRESH_COOLDOWN_SECONDS", default=30.0, minimum=0.0
)
BETTER_AUTH_JWKS_TIMEOUT_SECONDS = env_float("JWKS_TIMEOUT_SECONDS", default=3.0, minimum=0.1)
# Token lifetime ceiling, where the last good JWKS is kept (a cache alias, never the database
# cache), and an explicit proxy (environment proxies are ignored for the JWKS).
BETTER_AUTH_MAX_LIFETIME_SECONDS = env_int("JWT_MAX_LIFETIME_SECONDS", default=86_400, minimum=1)
BETTER_AUTH_JWKS_CACHE_ALIAS = env_str("JWKS_CACHE_ALIAS", default="default")
BETTER_AUTH_JWKS_PROXY_URL = env_str("JWKS_PROXY_URL", default="")
BETTER_AUTH_REALM = "todo-api"  # WWW-Authenticate: Bearer realm="todo-api" (CONTRACT §5)
# How old a JWKS document Better Auth, a CDN or a proxy may serve, plus clock skew: an unknown
# kid is 401 only in a token issued longer ago than this before a fetch that lacked it.
BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS = env_float(
    "JWKS_MAX_STALENESS_SECONDS", default=300.0, minimum=0.0
)
# CACHES (above): Redis when REDIS_URL is set, so every worker and instance shares the JWKS.

# --- logging: refusals at INFO, key fetch failures at WARNING; never a token --------------
# JSON lines in production, text in development; one line per request with its request id.
# DEBUG pages and error mails mask the passwords inside DATABASE_URL, REDIS_URL, CACHES...
DEFAULT_EXCEPTION_REPORTER_FILTER = "edge.secrets.SecretsFilter"
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be json or text, got {LOG_FORMAT!r}.")
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(
        f"DJANGO_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}."
    )
logs.configure_structlog(min_level=logging.getLevelNamesMapping()[LOG_LEVEL])
LOGGING = logs.logging_config(json=LOG_FORMAT == "json", level=LOG_LEVEL)
