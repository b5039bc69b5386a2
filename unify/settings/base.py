"""Every setting, read from the environment (django-environ).

With nothing set, Unify runs on its embedded default: SQLite in WAL mode and a file-system
Celery broker under ``UNIFY_DATA_DIR`` (``.data/`` in the checkout). ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis. Debug mode is off unless ``DJANGO_DEBUG`` turns
it on (``make run`` and the test settings do); off (production), the process refuses to start
unless ``SECRET_KEY``, ``UNIFY_ENCRYPTION_KEYS`` and ``ALLOWED_HOSTS`` are set.
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Off unless asked for: a server started without the variable must never show the debug page
# (it prints settings, including connection URLs with their passwords).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATA_DIR = Path(env.str("UNIFY_DATA_DIR", default=str(BASE_DIR / ".data")))


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

# --- Redis: broker, cache, rate limiters -----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "unify",
        }
    }
else:
    # A file cache is shared by the web, worker and beat processes of the embedded default.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery --------------------------------------------------------------------------------
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=15 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=16 * 60)
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    # The broker re-delivers an unacknowledged task after this long, so it must outlast the
    # longest task or a running task would be started a second time.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60}
else:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without this kombu writes its broadcast exchanges into the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "core-heartbeat": {"task": "unify.core.tasks.heartbeat", "schedule": 300.0},
    "sales-sync-due": {"task": "sales.tasks.sync_due_connections", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

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

# --- Security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
CSRF_FAILURE_VIEW = "unify.core.views.csrf_failure"  # styled like the other error pages
X_FRAME_OPTIONS = "DENY"
# Error pages and error e-mails hide credentials in DEBUG too (see unify/core/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "unify.core.error_reports.UnifyExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "unify.core.error_reports.UnifyExceptionReporter"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# No inline scripts or styles anywhere: every script and stylesheet is a file under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "unify.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 logs request lines at DEBUG; they never carry credentials (Basic auth is a
        # header) but keep them quiet anyway.
        "urllib3": {"level": "WARNING"},
    },
}

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

# --- Accounting (ledgers, posting) -----------------------------------------------------------
UNIFY_LEDGER_PROVIDERS = env.list(
    "UNIFY_LEDGER_PROVIDERS",
    default=[
        "accounting.ledgers.qbo.provider.QboProvider",
        "accounting.ledgers.xero.provider.XeroProvider",
        "accounting.ledgers.qbd.provider.QbdProvider",
    ],
)
# QuickBooks Desktop through the Web Connector (it calls /qbwc/ on UNIFY_PUBLIC_BASE_URL).
QBD_REQUESTS_PER_MESSAGE = env.int("QBD_REQUESTS_PER_MESSAGE", default=50)
QBD_RUN_EVERY_MINUTES = env.int("QBD_RUN_EVERY_MINUTES", default=15)
QBD_SESSION_IDLE_SECONDS = env.float("QBD_SESSION_IDLE_SECONDS", default=900.0)
QBD_BUSY_SECONDS = env.float("QBD_BUSY_SECONDS", default=120.0)
QBD_SOAP_MAX_BYTES = env.int("QBD_SOAP_MAX_BYTES", default=20 * 1024 * 1024)
QBD_MAX_EXCHANGES_PER_SESSION = env.int("QBD_MAX_EXCHANGES_PER_SESSION", default=2000)
QBD_AUTH_MAX_FAILURES = env.int("QBD_AUTH_MAX_FAILURES", default=10)
QBD_AUTH_FAILURE_WINDOW_SECONDS = env.int("QBD_AUTH_FAILURE_WINDOW_SECONDS", default=900)
QBD_QUEUE_BUDGET_SECONDS = env.float("QBD_QUEUE_BUDGET_SECONDS", default=20.0)
# QuickBooks Online. Defaults point at Intuit; ``make run`` points them at the stand-in.
QBO_CLIENT_ID = env.str("QBO_CLIENT_ID", default="")
QBO_CLIENT_SECRET = env.str("QBO_CLIENT_SECRET", default="")
# Empty: built from the request (``/ledgers/qbo/callback/`` on this host).
QBO_REDIRECT_URI = env.str("QBO_REDIRECT_URI", default="")
# "production" or "sandbox" (Intuit's development companies): picks the defaults below.
QBO_ENVIRONMENT = env.str("QBO_ENVIRONMENT", default="production")
_QBO_SANDBOX = QBO_ENVIRONMENT == "sandbox"
QBO_DISCOVERY_URL = env.str(
    "QBO_DISCOVERY_URL",
    default="https://developer.intuit.com/.well-known/openid_sandbox_configuration/"
    if _QBO_SANDBOX
    else "https://developer.intuit.com/.well-known/openid_configuration/",
)
QBO_API_BASE_URL = env.str(
    "QBO_API_BASE_URL",
    default="https://sandbox-quickbooks.api.intuit.com/v3"
    if _QBO_SANDBOX
    else "https://quickbooks.api.intuit.com/v3",
)
# Where "open in QuickBooks" links point.
QBO_APP_BASE_URL = env.str(
    "QBO_APP_BASE_URL",
    default="https://app.sandbox.qbo.intuit.com" if _QBO_SANDBOX else "https://app.qbo.intuit.com",
)
QBO_MINOR_VERSION = env.int("QBO_MINOR_VERSION", default=75)
QBO_TIMEOUT_CONNECT = env.float("QBO_TIMEOUT_CONNECT", default=5.0)
QBO_TIMEOUT_READ = env.float("QBO_TIMEOUT_READ", default=60.0)
QBO_RATE_LIMIT_PER_MINUTE = env.int("QBO_RATE_LIMIT_PER_MINUTE", default=500)
QBO_RATE_LIMIT_WINDOW_SECONDS = env.float("QBO_RATE_LIMIT_WINDOW_SECONDS", default=60.0)
QBO_MAX_CONCURRENT = env.int("QBO_MAX_CONCURRENT", default=10)
QBO_THROTTLE_WAIT_SECONDS = env.float("QBO_THROTTLE_WAIT_SECONDS", default=60.0)
# Intuit: 10 requests a second per realm and app; 40 batch requests a minute per realm and app
# (each at most QBO_BATCH_SIZE documents; 1 posts one document per request).
QBO_RATE_LIMIT_PER_SECOND = env.int("QBO_RATE_LIMIT_PER_SECOND", default=10)
QBO_RATE_LIMIT_SECOND_WINDOW = env.float("QBO_RATE_LIMIT_SECOND_WINDOW", default=1.0)
QBO_BATCH_PER_MINUTE = env.int("QBO_BATCH_PER_MINUTE", default=40)
QBO_BATCH_SIZE = env.int("QBO_BATCH_SIZE", default=30)
# While the batch lane is spent, documents also go one per request on the 500/min lane.
QBO_SINGLES_BESIDE_BATCHES = env.bool("QBO_SINGLES_BESIDE_BATCHES", default=True)
# Xero. Defaults point at Xero; ``make run`` points them at the stand-in (port 8767).
XERO_CLIENT_ID = env.str("XERO_CLIENT_ID", default="")
XERO_CLIENT_SECRET = env.str("XERO_CLIENT_SECRET", default="")
# Empty: built from the request (``/ledgers/xero/callback/`` on this host).
XERO_REDIRECT_URI = env.str("XERO_REDIRECT_URI", default="")
# Granular scopes (apps created since March 2026); offline_access for a refresh token.
XERO_SCOPES = env.str(
    "XERO_SCOPES",
    default="openid profile email offline_access accounting.settings accounting.contacts "
    "accounting.invoices accounting.payments accounting.banktransactions "
    "accounting.manualjournals",
)
XERO_AUTHORIZE_URL = env.str(
    "XERO_AUTHORIZE_URL", default="https://login.xero.com/identity/connect/authorize"
)
XERO_TOKEN_URL = env.str("XERO_TOKEN_URL", default="https://identity.xero.com/connect/token")
# Where xero-python's IdentityApi finds /Connections.
XERO_IDENTITY_BASE_URL = env.str("XERO_IDENTITY_BASE_URL", default="https://api.xero.com")
XERO_API_BASE_URL = env.str("XERO_API_BASE_URL", default="https://api.xero.com/api.xro/2.0")
# Where "open in Xero" links point.
XERO_APP_BASE_URL = env.str("XERO_APP_BASE_URL", default="https://go.xero.com")
XERO_TIMEOUT_CONNECT = env.float("XERO_TIMEOUT_CONNECT", default=5.0)
XERO_TIMEOUT_READ = env.float("XERO_TIMEOUT_READ", default=60.0)
# Xero's limits per organisation (tenant) and per app, shared by every worker through Redis.
XERO_RATE_LIMIT_PER_MINUTE = env.int("XERO_RATE_LIMIT_PER_MINUTE", default=60)
XERO_RATE_LIMIT_WINDOW_SECONDS = env.float("XERO_RATE_LIMIT_WINDOW_SECONDS", default=60.0)
XERO_DAY_LIMIT = env.int("XERO_DAY_LIMIT", default=5000)
XERO_DAY_WINDOW_SECONDS = env.float("XERO_DAY_WINDOW_SECONDS", default=86400.0)
XERO_APP_RATE_LIMIT_PER_MINUTE = env.int("XERO_APP_RATE_LIMIT_PER_MINUTE", default=10_000)
XERO_MAX_CONCURRENT = env.int("XERO_MAX_CONCURRENT", default=5)
# Documents per request (Xero's guidance: up to 50; 3.5 MB per request).
XERO_BATCH_SIZE = env.int("XERO_BATCH_SIZE", default=50)
# Posting engine: a claimed posting's lease outlasts the longest request; retries back off.
ACCOUNTING_POSTING_LEASE_SECONDS = env.float("ACCOUNTING_POSTING_LEASE_SECONDS", default=180.0)
ACCOUNTING_POSTING_MAX_ATTEMPTS = env.int("ACCOUNTING_POSTING_MAX_ATTEMPTS", default=8)
# Postings a worker claims (and loads with their orders) per round trip.
ACCOUNTING_POSTING_CLAIM_BATCH = env.int("ACCOUNTING_POSTING_CLAIM_BATCH", default=25)
ACCOUNTING_POSTING_BACKOFF_SECONDS = env.float("ACCOUNTING_POSTING_BACKOFF_SECONDS", default=10.0)
ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS = env.float(
    "ACCOUNTING_POSTING_BACKOFF_MAX_SECONDS", default=1800.0
)
# The Celery queue posting tasks go to (empty: the default queue). Tests use their own.
ACCOUNTING_TASK_QUEUE = env.str("ACCOUNTING_TASK_QUEUE", default="")
# Drain tasks started per ledger connection when postings are queued.
ACCOUNTING_POSTING_PARALLELISM = env.int("ACCOUNTING_POSTING_PARALLELISM", default=4)
# Test-only fault points (see accounting.services.faults); never set in production.
ACCOUNTING_FAULT_POINTS = env.list("ACCOUNTING_FAULT_POINTS", default=[])
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
