"""Celery tasks of notifications: ids in, never secrets or message text."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


def _queue() -> str | None:
    return settings.NOTIFICATIONS_TASK_QUEUE or None


def queue_notification_emails(organization_id: int, notification_ids: list[int]) -> None:
    for notification_id in notification_ids:
        send_notification_email_task.apply_async(
            kwargs={"organization_id": organization_id, "notification_id": notification_id},
            queue=_queue(),
        )


@shared_task(
    name="unify.notifications.tasks.send_notification_email_task",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email_task(*, organization_id: int, notification_id: int) -> None:
    from unify.notifications.services import send_notification_email

    send_notification_email(organization_id=organization_id, notification_id=notification_id)


@shared_task(name="unify.notifications.tasks.daily_digest_task", acks_late=True, ignore_result=True)
def daily_digest_task() -> int:
    from unify.notifications.digest import send_daily_digests

    return send_daily_digests()
