"""One settings module, configured from the environment (design §13).

With nothing set it runs on SQLite, a filesystem Celery broker and a file cache: no server needed.
With DATABASE_URL / CELERY_BROKER_URL / CACHE_URL it runs on PostgreSQL and Redis.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local runtime files (SQLite, broker folders, file cache) when no servers are set
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

# Off unless set (`make run` and `make test` set it), so a production that forgets DEBUG=0 serves no debug pages.
# Without DEBUG a missing SECRET_KEY stays empty: Django refuses it at its first use (a session, a CSRF token, a
# signature), so nothing is served with a known key, while commands that need none (migrate, makemigrations) run.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-secret-key-change-me" if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "crispy_forms",
    "crispy_bootstrap5",
    "formtools",
    "ninja",  # its Swagger UI files, served from our static files rather than a CDN
    "accounts",
    "campaigns",
    "incentives",
    "tracking",
    "interactions",
    "engagement",
    "reporting",
    "grids",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.OrganizationScopeMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that drops packets fails a connect in seconds, not after the OS's TCP timeout (minutes).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The cache carries import progress and (later) API rate limits, so it must be shared by web and workers:
# Redis when configured, else a folder on this machine.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Nothing waits long on the cache: short timeouts, and a server that failed is skipped for a while by each
    # process (core.cache). Options in CACHE_URL's query string win.
    CACHES["default"]["OPTIONS"] = {
        "pool_class": "core.cache.BackoffConnectionPool",
        "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
        "socket_timeout": env.float("CACHE_TIMEOUT", default=0.5),
        "backoff_seconds": env.float("CACHE_BACKOFF", default=5.0),
        **CACHES["default"].get("OPTIONS", {}),
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even before collectstatic
# Front-end libraries come from npm (package.json, installed by `make`), served as our own static files.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/chart.js", BASE_DIR / "node_modules/chart.js/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The default storage holds the grids' background exports; never served by URL, only through their own view.
# Several machines need a shared folder here (or another storage backend in STORAGES["default"]).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# Grid downloads (design §9). CSV streams at any size; an XLSX is a zip, finished before its first byte can go,
# so above this many rows a worker builds it and the page follows its progress to a link (grids.Export).
GRID_XLSX_REQUEST_ROWS = env.int("GRID_XLSX_REQUEST_ROWS", default=50_000)
GRID_EXPORT_RETENTION_HOURS = env.int("GRID_EXPORT_RETENTION_HOURS", default=24)
# An export no worker started within this many seconds (the broker down, no worker), or whose worker stopped
# reporting progress for as long (killed), is marked failed, so no page waits forever; the user tries again.
GRID_EXPORT_START_TIMEOUT = env.int("GRID_EXPORT_START_TIMEOUT", default=300)
GRID_EXPORT_STALL_TIMEOUT = env.int("GRID_EXPORT_STALL_TIMEOUT", default=600)
GRID_EXPORT_TIME_LIMIT = env.int("GRID_EXPORT_TIME_LIMIT", default=3600)  # seconds, the export task's hard limit

# Email: EMAIL_URL like smtp://user:pass@host:587; unset, mail goes to the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
# Seconds each SMTP operation may wait: a stalled server fails the send, which the beat job sends again.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="vouchers@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis when CELERY_BROKER_URL is set, else kombu's filesystem transport (no server).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# No task holds a worker for ever: soft (the task's SoftTimeLimitExceeded), then hard (the worker process killed).
# Tasks that need more or less say so in their decorators (imports; the low-threshold email's SEND_TIME_LIMIT).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BEAT_SCHEDULE = {
    "roll-campaign-statuses": {"task": "campaigns.roll_campaign_statuses", "schedule": 60.0},
    # Closed hours of interactions into reporting rollups; the open hour is always read from the interactions.
    "roll-up-interactions": {"task": "reporting.roll_up_interactions", "schedule": 300.0},
    # Low-threshold emails for pool crossings no issuance queued (codes deactivated, a lost task); re-arms too.
    "check-pool-thresholds": {"task": "incentives.check_pool_thresholds", "schedule": 60.0},
    "prune-idempotency-records": {"task": "interactions.prune_idempotency_records", "schedule": 24 * 60 * 60.0},
    # Imports whose worker died (failed), or that no worker took since the upload (sent again, failed after a few).
    "recover-imports": {"task": "incentives.recover_imports", "schedule": 60.0},
    # Background grid exports: fail those that never started or stalled, delete those kept their day.
    "clean-up-grid-exports": {"task": "grids.clean_up_exports", "schedule": 300.0},
    # Engagement's time-driven moves (earn, claim and campaign ends), set-based with their history rows.
    "roll-participation-states": {"task": "engagement.roll_participation_states", "schedule": 60.0},
}
# Background imports: a running import renews a lease while it works; once it ran out the worker is taken for lost.
# A pending one no worker took is sent again every IMPORT_RESEND_SECONDS, and failed once sent IMPORT_MAX_SENDS
# times. A failed import that could not finish keeps its file IMPORT_RETRY_DAYS for its page's Retry.
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=120)
IMPORT_RESEND_SECONDS = env.int("IMPORT_RESEND_SECONDS", default=120)
IMPORT_MAX_SENDS = env.int("IMPORT_MAX_SENDS", default=5)
IMPORT_RETRY_DAYS = env.int("IMPORT_RETRY_DAYS", default=7)
# How long a `reference` replays its first answer (design §8); after that the record is pruned.
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=90)
# The absolute address of the site, for links in emails.
SITE_URL = env("SITE_URL", default="http://localhost:8000")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")

# Production hardening: on whenever DEBUG is off (manage.py check --deploy stays clean).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
