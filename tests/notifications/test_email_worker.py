"""The notification email through a real Celery worker, with the task delivered twice (as a
broker may after a lost acknowledgement): one email, with its plain-text and HTML parts and
the link to the page that fixes it."""

from __future__ import annotations

import time
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.factories import LedgerConnectionFactory
from tests.worker_process import unique_queue
from unify.notifications import events
from unify.notifications.models import Notification
from unify.notifications.tasks import send_notification_email_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def sent_messages(folder: Path) -> list:
    found = []
    for path in sorted(folder.glob("*.log")):
        chunks = path.read_bytes().split(b"-" * 79 + b"\n")
        found += [message_from_bytes(c) for c in chunks if c.strip()]
    return found


def test_a_task_delivered_twice_sends_one_email(
    celery_worker_process, org_a, owner_of_a, settings, tmp_path
):
    outbox = tmp_path / "mail"
    outbox.mkdir()
    queue = unique_queue("notify")
    settings.NOTIFICATIONS_TASK_QUEUE = queue
    # The event queues its email task (on commit); the same task is delivered once more.
    events.ledger_disconnected(LedgerConnectionFactory(organization=org_a))
    notification = Notification.all_orgs.get(user=owner_of_a.user)
    kwargs = {"organization_id": org_a.pk, "notification_id": notification.pk}
    send_notification_email_task.apply_async(kwargs=kwargs, queue=queue)
    send_notification_email_task.apply_async(kwargs=kwargs, queue=queue)

    worker = celery_worker_process(
        [queue], env={"NOTIFICATIONS_TASK_QUEUE": queue, "TEST_EMAIL_FILE_PATH": str(outbox)}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.output().count("send_notification_email_task") >= 6:  # 3 received, 3 done
            break
        time.sleep(0.2)
    time.sleep(0.5)
    output = worker.output()
    assert output.count("succeeded in") >= 3, output[-3000:]

    messages = sent_messages(outbox)
    assert len(messages) == 1, output[-3000:]
    message = messages[0]
    assert message["To"] == owner_of_a.user.email
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    link = f"/o/{org_a.slug}/accounting/"
    assert link in parts["text/plain"] and link in parts["text/html"]
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert output.count(f"notification email sent: notification={notification.pk}") == 1
