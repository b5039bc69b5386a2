"""The Celery application. Configuration lives in settings under the ``CELERY_`` namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unify.settings.base")

app = Celery("unify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
