"""Settings of the reliability tests' worker subprocesses: the test settings, plus the
stand-in's address from the environment (the test settings pin it to a dead port so no test
reaches a real ShipStation by accident)."""

import os

from unify.settings.test import *  # noqa: F403

SHIPSTATION_API_BASE_URL = os.environ["SHIPSTATION_API_BASE_URL"]

# Mail the worker sends lands in files the test can read.
if os.environ.get("UNIFY_TEST_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["UNIFY_TEST_EMAIL_DIR"]
