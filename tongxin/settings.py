"""Django settings for tongxin, read from the environment.

Every value that differs between a laptop demo and a city's production cluster comes from an
environment variable; docs/deploy.md lists them. The defaults give the embedded set-up: SQLite (WAL)
in ./var/, Huey on SQLite, DEBUG off.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name) or default  # an empty value counts as unset
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files (SQLite, Huey's queue, uploads, collected static files): ./var in a source checkout;
# for an installed package, ./var under the working directory unless TONGXIN_VAR_DIR says otherwise.
_DEFAULT_VAR = BASE_DIR / "var" if (BASE_DIR / "pyproject.toml").exists() else Path.cwd() / "var"
VAR_DIR = Path(os.environ.get("TONGXIN_VAR_DIR") or _DEFAULT_VAR).resolve()

DEBUG = env_bool("DEBUG", False)
# The demo and tests run without SECRET_KEY; production must set it (check --deploy insists on a strong one).
SECRET_KEY = os.environ.get("SECRET_KEY") or "insecure-dev-key-" + "tongxin-not-for-production-use-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "tongxin.core",
    "tongxin.regions",
    "tongxin.accounts",
    "tongxin.workorders",
    "tongxin.insight",
    "tongxin.mediation",
    "tongxin.residents",
    "tongxin.grids",
    "tongxin.participation",
    "tongxin.points",
    "tongxin.open311",
    "tongxin.dashboard",
    "tongxin.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongxin.core.security.SecurityHeadersMiddleware",
    "tongxin.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tongxin.urls"
WSGI_APPLICATION = "tongxin.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tongxin" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongxin.core.context_processors.calendar_warning",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL in production (postgres://user@host:5432/name). Without it, an
# embedded SQLite file in WAL mode: readers never block the single writer, which is what a demo and
# a small town need.
SQLITE_PATH = Path(os.environ.get("TONGXIN_SQLITE_PATH", VAR_DIR / "tongxin.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    # A fresh SQLite file is created on first connection; its folder must exist.
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DATABASE_NAME") or None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two writers queue
                # instead of failing with "database is locked" half-way through.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and background jobs --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "tongxin.core.cache.RedisCache", "LOCATION": REDIS_URL}}  # Django's, leaner: core/cache.py
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tongxin"}}

HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "tongxin",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }
else:
    HUEY_SQLITE_PATH = Path(os.environ.get("HUEY_SQLITE_PATH", VAR_DIR / "huey.sqlite3"))
    HUEY_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tongxin",
        "filename": str(HUEY_SQLITE_PATH),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "tongxin" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The demo serves static files through WhiteNoise with DEBUG off; it finds them in the apps directly.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security (docs/security.md) -----------------------------------------------------------
SECURE_PRODUCTION = env_bool("SECURE_PRODUCTION", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The staff work a shift: the session ends 12 hours after sign-in, and when the browser closes if
# SESSION_EXPIRE_AT_BROWSER_CLOSE is set (shared counter PCs in the service halls).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_PRODUCTION:
    # Behind nginx terminating TLS (docs/deploy.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"  # __Host-: HTTPS only, the whole site, no Domain attribute
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    # Probes call gunicorn directly over plain HTTP: the health check must not redirect.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a hard-to-undo decision for the city's domain, taken on purpose
        # (docs/deploy.md), not a default: without it the check's reminder is noise.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (tongxin.core.security, docs/security.md): no 'unsafe-inline', no 'unsafe-eval',
# enforced on every path. To trial a changed TONGXIN_CSP first, send it report-only: on the whole site
# (TONGXIN_CSP_REPORT_ONLY=1) or under some prefixes (TONGXIN_CSP_REPORT_ONLY_PREFIXES).
TONGXIN_CSP = os.environ.get("TONGXIN_CSP", "") or (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
TONGXIN_CSP_REPORT_ONLY = env_bool("TONGXIN_CSP_REPORT_ONLY", False)
TONGXIN_CSP_REPORT_ONLY_PREFIXES = env_list("TONGXIN_CSP_REPORT_ONLY_PREFIXES", "")
# Paths that get no policy at all (none by default: Ninja's docs page at /api/v1/docs, served from our own
# static files since "ninja" is an installed app, complies too).
TONGXIN_CSP_EXEMPT_PREFIXES = env_list("TONGXIN_CSP_EXEMPT_PREFIXES", "")
# The header the reverse proxy sets with the client's address (e.g. HTTP_X_REAL_IP); unset: REMOTE_ADDR.
TONGXIN_CLIENT_IP_HEADER = os.environ.get("TONGXIN_CLIENT_IP_HEADER", "")
# Rate limits per client address on the public doors (tongxin.core.ratelimit): (name, path regex,
# methods, "count/seconds"); TONGXIN_RATE_LIMIT_<NAME>="count/seconds" overrides one budget.
TONGXIN_RATE_LIMITS_ENABLED = env_bool("TONGXIN_RATE_LIMITS_ENABLED", True)
TONGXIN_RATE_LIMITS = [
    ("resident_code", r"^/api/v1/residents/login/code$", "POST", "20/3600"),     # SMS codes
    ("resident_login", r"^/api/v1/residents/login$", "POST", "30/600"),
    ("resident_page", r"^/r/[A-Za-z0-9_.-]+/$", "POST", "40/600"),              # the code page's SMS and sign-in
    ("resident_report", r"^/api/v1/residents/reports$|^/r/report/$", "POST", "30/3600"),
    ("open311_write", r"^/open311/v2/requests\.", "POST", "120/60"),
    ("open311_read", r"^/open311/v2/", "GET", "600/60"),
    ("public_board", r"^/r/board|^/api/v1/residents/board$", "GET", "240/60"),
    ("staff_login", r"^/accounts/login/", "POST", "600/600"),  # a flood guard; the lockout counts failures
]
# Staff sign-in lockout (tongxin/accounts/security.py), counted in the database: this many failures of
# one user name (or from one address) within the window lock it for TONGXIN_LOGIN_LOCK_SECONDS.
TONGXIN_LOGIN_MAX_FAILURES = env_int("TONGXIN_LOGIN_MAX_FAILURES", 5)
TONGXIN_LOGIN_MAX_FAILURES_PER_IP = env_int("TONGXIN_LOGIN_MAX_FAILURES_PER_IP", 20)
TONGXIN_LOGIN_WINDOW_SECONDS = env_int("TONGXIN_LOGIN_WINDOW_SECONDS", 900)
TONGXIN_LOGIN_LOCK_SECONDS = env_int("TONGXIN_LOGIN_LOCK_SECONDS", 900)
# Roles that must sign in with a second factor (TOTP); "superuser" covers Django superusers. Required of
# administrators in production; optional for everyone in the demo (whose printed logins must just work).
TONGXIN_TOTP_REQUIRED_ROLES = env_list("TONGXIN_TOTP_REQUIRED_ROLES", "admin,superuser" if SECURE_PRODUCTION else "")
TONGXIN_TOTP_ISSUER = os.environ.get("TONGXIN_TOTP_ISSUER", "同心")
# PIPL: personal fields of work orders and cases closed longer than this many days are anonymised by
# `tongxin retention` (0: never).
TONGXIN_RETENTION_DAYS = env_int("TONGXIN_RETENTION_DAYS", 0)
TONGXIN_RETENTION_HANDLERS = ["tongxin.workorders.retention.anonymise_closed_before",
                              "tongxin.mediation.retention.anonymise_closed_before"]
# Keys sealing personal values at rest (tongxin.core.fieldcrypt): "id:base64-32-bytes,..."; the first
# encrypts, all decrypt. Unset: a key derived from SECRET_KEY (demo/tests; check --deploy warns).
TONGXIN_DATA_KEYS = os.environ.get("TONGXIN_DATA_KEYS", "").strip()

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "tongxin": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# --- tongxin --------------------------------------------------------------------------------
# The city this installation serves: its 6-digit GB/T 2260 code (Ordos by default).
TONGXIN_CITY_CODE = os.environ.get("TONGXIN_CITY_CODE", "150600")
# SMS leaves the machine: a pluggable backend, logging by default (docs/api.md).
TONGXIN_SMS_BACKEND = os.environ.get("TONGXIN_SMS_BACKEND", "tongxin.core.sms.LoggingSmsBackend")
# In-app notifications of these kinds also go to the recipient's phone by SMS (a Huey task after commit).
TONGXIN_SMS_NOTIFY_KINDS = os.environ.get("TONGXIN_SMS_NOTIFY_KINDS", "dispatched,force_dispatched,supervise,redo")
# Upper bound on free text in a work order (characters), so 10 MB of text is refused, not stored.
TONGXIN_MAX_CONTENT_CHARS = env_int("TONGXIN_MAX_CONTENT_CHARS", 5000)
# The demo serves uploaded files itself; behind nginx, nginx does (docs/deploy.md).
TONGXIN_SERVE_MEDIA = env_bool("TONGXIN_SERVE_MEDIA", not DATABASE_URL)
# Open311 (docs/open311.md): the jurisdiction_id clients send (default: the city code), the contact
# line of the discovery document, and where integrators ask for an API key.
TONGXIN_OPEN311_JURISDICTION = os.environ.get("TONGXIN_OPEN311_JURISDICTION", "")
TONGXIN_OPEN311_CONTACT = os.environ.get("TONGXIN_OPEN311_CONTACT", "")
TONGXIN_OPEN311_KEY_SERVICE = os.environ.get("TONGXIN_OPEN311_KEY_SERVICE", "")
# How long a worker process may trust a bearer token it has verified (with its user and roles) before
# reading them again: a revocation, deactivation or role change reaches every worker within this many
# seconds (at once in the worker that made it). 0: read them on every request. ADR 0008.
TONGXIN_TOKEN_CACHE_SECONDS = float(os.environ.get("TONGXIN_TOKEN_CACHE_SECONDS", "").strip() or "5")
# The same bound for the reference data intake reads on every order (categories, areas), which a
# worker keeps in memory; the intake statement re-checks them, so a stale entry costs a retry only.
# The intake statement is prepared once per database connection (PostgreSQL). Switch off behind a
# pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
TONGXIN_INTAKE_PREPARED = env_bool("TONGXIN_INTAKE_PREPARED", True)
TONGXIN_INTAKE_CACHE_SECONDS = float(os.environ.get("TONGXIN_INTAKE_CACHE_SECONDS", "").strip() or "60")
