from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="unify.core.tasks.health_check")
def health_check(*, token: str) -> None:
    """Proves a worker is consuming: writes the token's answer where the caller can read it."""
    cache.set(f"health:{token}", f"ok {timezone.now().isoformat()}", timeout=300)


@shared_task(name="unify.core.tasks.heartbeat")
def heartbeat() -> None:
    cache.set("health:beat", timezone.now().isoformat(), timeout=900)
    logger.info("beat heartbeat")
