"""Accounting: the ledgers (QuickBooks Online and Desktop, Xero) and the posting engine."""

from __future__ import annotations

from unify.settings.environment import env

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
