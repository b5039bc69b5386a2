"""The Celery application. Configuration lives in settings under the ``CELERY_`` namespace."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

from unify.core.worker_tuning import worker_process_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unify.settings.base")

app = Celery("unify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Process-wide interpreter settings, once per worker process (unify/core/worker_tuning.py).
worker_init.connect(worker_process_tune, weak=False)
worker_process_init.connect(worker_process_tune, weak=False)
