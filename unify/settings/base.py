"""Every setting, read from the environment (django-environ).

With nothing set, Unify runs on its embedded default: SQLite in WAL mode and a file-system
Celery broker under ``UNIFY_DATA_DIR`` (``.data/`` in the checkout). ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis. Debug mode is off unless ``DJANGO_DEBUG`` turns
it on (``make run`` and the test settings do); off (production), the process refuses to start
unless ``SECRET_KEY``, ``UNIFY_ENCRYPTION_KEYS`` and ``ALLOWED_HOSTS`` are set.

Groups of settings live in sibling modules, imported here: ``environment`` (the checkout's
folder, debug mode, the data folder), ``broker`` (Redis and Celery), ``security`` (cookies,
HTTPS, security headers), ``logs`` and ``ledgers`` (accounting: ledgers and posting).
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .broker import *  # noqa: F403 - Redis and Celery
from .broker import CELERY_BEAT_SCHEDULE, CELERY_TASK_SOFT_TIME_LIMIT
from .environment import BASE_DIR, DATA_DIR, DEBUG, env
from .ledgers import *  # noqa: F403 - accounting: ledgers and posting
from .logs import *  # noqa: F403
from .security import *  # noqa: F403 - cookies, HTTPS, security headers


def _require(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Production mode (DJANGO_DEBUG off) needs SECRET_KEY, "
            "UNIFY_ENCRYPTION_KEYS and ALLOWED_HOSTS in the environment. For local development "
            "use `make run`, or set DJANGO_DEBUG=1."
        )
    return value


def _local_secret(filename: str, make: callable) -> str:
    """A development-only secret kept in the data folder so restarts keep sessions and data."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret(
        "secret_key", lambda: secrets.token_urlsafe(50)
    )
    UNIFY_ENCRYPTION_KEYS = env.list("UNIFY_ENCRYPTION_KEYS", default=[]) or [
        _local_secret("encryption_key", lambda: Fernet.generate_key().decode())
    ]
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
else:
    SECRET_KEY = _require("SECRET_KEY")
    UNIFY_ENCRYPTION_KEYS = [
        k.strip() for k in _require("UNIFY_ENCRYPTION_KEYS").split(",") if k.strip()
    ]
    ALLOWED_HOSTS = [h.strip() for h in _require("ALLOWED_HOSTS").split(",") if h.strip()]

for _key in UNIFY_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError as _exc:
        # Say which position is wrong, never the key itself.
        raise ImproperlyConfigured(
            f"UNIFY_ENCRYPTION_KEYS entry {UNIFY_ENCRYPTION_KEYS.index(_key) + 1} is not a valid "
            "Fernet key (32 url-safe base64-encoded bytes)."
        ) from _exc

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "unify.core.admin_site.UnifyAdminConfig",  # django.contrib.admin with staff roles
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "unify.core",
    "unify.tenancy",
    "connections",
    "sales",
    "accounting",
    "accounting.ledgers.qbd",
    "unify.notifications",
]
# make run's commands (run_embedded, demo_setup): debug mode only, and not in the image.
if DEBUG and importlib.util.find_spec("unify.devtools") is not None:
    INSTALLED_APPS.append("unify.devtools")

MIDDLEWARE = [
    "unify.core.middleware.TrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A signed-in person's profile language wins over the cookie and Accept-Language.
    "unify.core.i18n.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "unify.core.middleware.StaffMFARequiredMiddleware",
    "unify.tenancy.middleware.OrganizationMiddleware",
    # After the others: its process_view sees the signed-in user (admin/support bypass).
    "unify.tenancy.middleware.RowLevelSecurityMiddleware",
]

ROOT_URLCONF = "unify.urls"
WSGI_APPLICATION = "unify.wsgi.application"

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
                "unify.tenancy.context_processors.organization",
                "unify.notifications.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Row-level security (unify/tenancy/rls.py): every query as the role ``unify_app``, held
    # to the organization of the current org_scope(). UNIFY_RLS=0 turns it off (benchmarks).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "UNIFY_RLS", default=True
    ):
        DATABASES["default"]["ENGINE"] = "unify.tenancy.postgresql"
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "unify.sqlite3",
            # WAL lets the web, worker and beat processes read while one writes; IMMEDIATE
            # transactions plus a busy timeout make writers queue instead of failing.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Accounts (django-allauth) ---------------------------------------------------------------
AUTH_USER_MODEL = "auth.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_SIGNUP_FORM_CLASS = "unify.tenancy.forms.SignupOrganizationForm"
ACCOUNT_ADAPTER = "unify.tenancy.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Unify] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Login rate limits are keyed by client IP: behind N reverse proxies of our own, the client is
# the Nth address from the right in X-Forwarded-For (0 = use REMOTE_ADDR, trust no header).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The reverse proxy's addresses or networks: X-Forwarded-* headers from any other peer are
# dropped before anything reads them (unify.core.middleware). gunicorn reads the same list.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"])
# Deleting the organization, disconnecting and new API keys ask for the password again (or
# an MFA code), valid for this many seconds; never for an emailed code.
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("ACCOUNT_REAUTHENTICATION_TIMEOUT", default=300)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Unify"
# Stores TOTP secrets and recovery-code seeds encrypted under UNIFY_ENCRYPTION_KEYS.
MFA_ADAPTER = "unify.tenancy.adapters.MFAAdapter"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Unify <no-reply@unify.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)

# --- I18N / time ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# One date-and-time format on every screen: "Dec 6, 2026, 14:05 EST" (unify/formats/).
FORMAT_MODULE_PATH = ["unify.formats"]
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"


# --- Unify ---------------------------------------------------------------------------------
# Order sources (the one list: Add Store, webhooks, the import ask it), in display order.
UNIFY_SOURCE_PROVIDERS = env.list(
    "UNIFY_SOURCE_PROVIDERS",
    default=[
        "connections.sources.shipstation.provider.ShipStationProvider",
        "connections.sources.csv.provider.OrderFileProvider",
    ],
)
SHIPSTATION_API_BASE_URL = env.str(
    "SHIPSTATION_API_BASE_URL", default="https://ssapi.shipstation.com"
)
SHIPSTATION_TIMEOUT_CONNECT = env.float("SHIPSTATION_TIMEOUT_CONNECT", default=5.0)
SHIPSTATION_TIMEOUT_READ = env.float("SHIPSTATION_TIMEOUT_READ", default=60.0)
SHIPSTATION_RATE_LIMIT_PER_MINUTE = env.int("SHIPSTATION_RATE_LIMIT_PER_MINUTE", default=40)
# The limiter's window (seconds); "per minute" above is the budget per window. Tests shrink it.
SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS = env.float(
    "SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS", default=60.0
)
# After a 429 the key pair's budget shrinks to what fitted beside other apps using the same
# keys, for this long after the last 429 (then the full budget is tried again).
SHIPSTATION_RATE_LIMIT_SHRINK_SECONDS = env.float(
    "SHIPSTATION_RATE_LIMIT_SHRINK_SECONDS", default=600.0
)
# Import (sales): overlap of incremental windows, page size, retry bounds, run lease.
SALES_SYNC_OVERLAP_MINUTES = env.int("SALES_SYNC_OVERLAP_MINUTES", default=5)
SALES_SYNC_PAGE_SIZE = env.int("SALES_SYNC_PAGE_SIZE", default=500)
# Pages downloaded and mapped ahead of the one being written (memory: a few MB a page).
SALES_SYNC_PREFETCH_PAGES = env.int("SALES_SYNC_PREFETCH_PAGES", default=3)
SALES_SYNC_MAX_ATTEMPTS = env.int("SALES_SYNC_MAX_ATTEMPTS", default=6)
SALES_SYNC_BACKOFF_SECONDS = env.float("SALES_SYNC_BACKOFF_SECONDS", default=2.0)
SALES_SYNC_BACKOFF_MAX_SECONDS = env.float("SALES_SYNC_BACKOFF_MAX_SECONDS", default=60.0)
SALES_SYNC_LEASE_SECONDS = env.float("SALES_SYNC_LEASE_SECONDS", default=300.0)
# A run works at most this long per task, then checkpoints and queues its continuation
# (below the Celery soft time limit). Empty queue name: Celery's default routing.
SALES_SYNC_TASK_BUDGET_SECONDS = env.float(
    "SALES_SYNC_TASK_BUDGET_SECONDS", default=max(60.0, CELERY_TASK_SOFT_TIME_LIMIT - 120.0)
)
SALES_TASK_QUEUE = env.str("SALES_TASK_QUEUE", default="")
# Sales-tab background actions: the working task's lease (renewed with every chunk); an open
# action with no live lease and no change for STALE seconds is queued again, at most
# MAX_REQUEUES times, then ends failed with a message on the Sales tab.
SALES_BULK_ACTION_LEASE_SECONDS = env.float("SALES_BULK_ACTION_LEASE_SECONDS", default=300.0)
SALES_BULK_ACTION_STALE_SECONDS = env.float("SALES_BULK_ACTION_STALE_SECONDS", default=600.0)
SALES_BULK_ACTION_MAX_REQUEUES = env.int("SALES_BULK_ACTION_MAX_REQUEUES", default=3)
# The address ShipStation posts webhooks to; empty means webhooks are not subscribed
# (polling alone keeps the data in sync).
UNIFY_PUBLIC_BASE_URL = env.str("UNIFY_PUBLIC_BASE_URL", default="")
# Webhooks of one connection within this many seconds make at most one sync at once and one
# follow-up at the window's end; each webhook token may post this many times a minute (429).
SALES_WEBHOOK_DEBOUNCE_SECONDS = env.float("SALES_WEBHOOK_DEBOUNCE_SECONDS", default=60.0)
SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE = env.int("SALES_WEBHOOK_RATE_LIMIT_PER_MINUTE", default=60)
# Where people open Unify: every link in an email starts with it (emails are read outside the
# browser, so a link needs its scheme and host). `make run` sets it to its own address;
# production defaults to the public base URL, else https:// and the first allowed host.
UNIFY_SITE_URL = (
    env.str("UNIFY_SITE_URL", default="")
    or ("http://127.0.0.1:8000" if DEBUG else "")
    or UNIFY_PUBLIC_BASE_URL
    or f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
).rstrip("/")
if not DEBUG and ("*" in UNIFY_SITE_URL or not UNIFY_SITE_URL.startswith("https://")):
    raise ImproperlyConfigured(
        "UNIFY_SITE_URL must be the https address people open Unify at (emails link to it), "
        f"not {UNIFY_SITE_URL!r}."
    )

CELERY_BEAT_SCHEDULE["accounting-posting-sweep"] = {
    "task": "accounting.tasks.posting_sweep_task",
    "schedule": 60.0,
}
# The Sales tab's running totals: fold what writes appended (sales/rollup.py).
CELERY_BEAT_SCHEDULE["sales-order-rollup-compact"] = {
    "task": "sales.tasks.order_rollup_compact_task",
    "schedule": 60.0,
}
# Sales-tab background actions whose task message was lost or whose worker died.
CELERY_BEAT_SCHEDULE["sales-bulk-actions-recover"] = {
    "task": "sales.tasks.order_bulk_actions_recover_task",
    "schedule": 60.0,
}

# Notifications (unify/notifications): the queue of their email tasks (empty: the default
# queue; tests use their own) and yesterday's digest, every morning.
NOTIFICATIONS_TASK_QUEUE = env.str("NOTIFICATIONS_TASK_QUEUE", default="")
CELERY_BEAT_SCHEDULE["notifications-daily-digest"] = {
    "task": "unify.notifications.tasks.daily_digest_task",
    "schedule": crontab(hour=7, minute=0),
}
