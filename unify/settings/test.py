"""Test settings: the real PostgreSQL and Redis (local defaults unless the environment says
otherwise), fast password hashing, everything else as in production code."""

import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unify")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("UNIFY_DATA_DIR", os.path.join(os.path.dirname(__file__), "../../.data/test"))

from .base import *  # noqa: E402,F403
from .base import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("TEST", {})
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A worker subprocess can write its mail to files where the test reads them.
if os.environ.get("TEST_EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TEST_EMAIL_FILE_PATH"]
# A fixed key pair makes encrypted rows written by one test process readable by the worker
# subprocesses the tests start.
UNIFY_ENCRYPTION_KEYS = ["vTc0w8yb6Z4xJ0m7o2hGmJ3r6M9dW2nq5cQ1u4l8Zp0="]
SHIPSTATION_API_BASE_URL = "http://127.0.0.1:9"  # tests point it at their sandbox
# WhiteNoise warns on every test client when STATIC_ROOT is missing; in DEBUG it serves from
# the finders anyway, so an empty folder is all it needs.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
# The tests written for QuickBooks Online's one-document-per-request path keep it; the batch
# path (production default: 30 per request) is tested where a test asks for it
# (QBO_BATCH_SIZE in the environment of a worker, or the setting).
QBO_BATCH_SIZE = int(os.environ.get("QBO_BATCH_SIZE", "1"))
