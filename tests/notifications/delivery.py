"""Running the notification emails queued by an event, in this process, as a worker would
(``tests/notifications/test_email_worker.py`` proves the same task in a real worker)."""

from __future__ import annotations

from unify.notifications.models import Delivery, Notification
from unify.notifications.tasks import send_notification_email_task


def deliver_notification_emails() -> int:
    """Run the email task of every notification waiting for its email; returns how many."""
    waiting = Notification.all_orgs.filter(
        delivery=Delivery.IMMEDIATE, email_claimed_at__isnull=True
    ).order_by("pk")
    done = 0
    for organization_id, notification_id in waiting.values_list("organization_id", "pk"):
        send_notification_email_task.apply(
            kwargs={"organization_id": organization_id, "notification_id": notification_id}
        )
        done += 1
    return done
