"""Recording notification events, delivering them in-app and by email, once.

Callers (the places where the events happen) call :func:`notify` with a deterministic
``dedupe_key``; a second call with the same key does nothing (unique constraint), so the same
event never makes two notifications or two emails. A failure here never breaks the caller.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from unify.core.mail import subject_text
from unify.core.site import site_url
from unify.notifications import messages
from unify.notifications.models import (
    Delivery,
    Kind,
    Notification,
    NotificationEvent,
    NotificationPreference,
)
from unify.tenancy.models import Membership
from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)

DEFAULT_DELIVERY = Delivery.IMMEDIATE


def preferences_for(*, organization_id: int, user_id: int) -> dict[str, str]:
    """Each kind's delivery for this person (the default where they chose nothing)."""
    chosen = dict(
        NotificationPreference.objects.for_org(organization_id)
        .filter(user_id=user_id)
        .values_list("kind", "delivery")
    )
    return {kind: chosen.get(kind, DEFAULT_DELIVERY) for kind in Kind.values}


def preferences_save(*, organization_id: int, user_id: int, choices: dict[str, str]) -> None:
    with org_scope(organization_id):
        for kind, delivery in choices.items():
            if kind not in Kind.values or delivery not in Delivery.values:
                continue
            NotificationPreference.objects.update_or_create(
                organization_id=organization_id,
                user_id=user_id,
                kind=kind,
                defaults={"delivery": delivery},
            )


def notify(
    *,
    organization_id: int,
    kind: str,
    dedupe_key: str,
    params: dict | None = None,
    link: str = "",
) -> NotificationEvent | None:
    """Record an event and notify the organization's members (each by their choice).
    Returns the event, or None when it was already recorded (or recording failed)."""
    try:
        with org_scope(organization_id), transaction.atomic():
            return _notify(organization_id, kind, dedupe_key, params or {}, link)
    except IntegrityError:
        return None  # the same event, recorded before (or at this moment by someone else)
    except Exception:
        logger.exception("could not record notification %s", dedupe_key)
        return None


def _notify(organization_id, kind, dedupe_key, params, link) -> NotificationEvent:
    event = NotificationEvent.objects.create(
        organization_id=organization_id,
        kind=kind,
        dedupe_key=dedupe_key[:200],
        params=params,
        link=link,
    )
    chosen = {
        (user_id, k): delivery
        for user_id, k, delivery in NotificationPreference.objects.filter(kind=kind).values_list(
            "user_id", "kind", "delivery"
        )
    }
    user_ids = Membership.objects.filter(organization_id=organization_id).values_list(
        "user_id", flat=True
    )
    immediate: list[int] = []
    for user_id in sorted(user_ids):
        delivery = chosen.get((user_id, kind), DEFAULT_DELIVERY)
        if delivery == Delivery.OFF:
            continue
        notification = Notification.objects.create(
            organization_id=organization_id, event=event, user_id=user_id, delivery=delivery
        )
        if delivery == Delivery.IMMEDIATE:
            immediate.append(notification.pk)
    if immediate:
        from unify.notifications.tasks import queue_notification_emails

        transaction.on_commit(lambda: queue_notification_emails(organization_id, immediate))
    return event


def language_for(user) -> str:
    """The person's language where they chose one (their profile); the site's otherwise."""
    from unify.core.i18n import user_language

    return user_language(user) or settings.LANGUAGE_CODE


def send_notification_email(*, organization_id: int, notification_id: int) -> bool:
    """Send one notification's email, at most once: the row is claimed by an UPDATE before
    anything is sent, so a task delivered twice finds it claimed. Returns True when sent."""
    with org_scope(organization_id):
        claimed = Notification.objects.filter(
            pk=notification_id, delivery=Delivery.IMMEDIATE, email_claimed_at__isnull=True
        ).update(email_claimed_at=timezone.now())
        if not claimed:
            return False
        notification = Notification.objects.select_related("event", "user", "organization").get(
            pk=notification_id
        )
        if not notification.user.email:
            return False
        try:
            _send(notification)
        except Exception:
            # Not sent: release the claim so that the task's retry may send it.
            Notification.objects.filter(pk=notification_id).update(email_claimed_at=None)
            raise
        Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())
        logger.info("notification email sent: notification=%s", notification_id)
        return True


def _send(notification: Notification) -> None:
    event = notification.event
    with translation.override(language_for(notification.user)):
        context = {
            "organization": notification.organization,
            "title": messages.title(event.kind, event.params),
            "body": messages.body(event.kind, event.params),
            "action": messages.action(event.kind),
            "url": site_url(event.link) if event.link else site_url(),
        }
        title = messages.subject(event.kind, event.params, notification.organization.name)
        subject = subject_text(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{title}")
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    message = EmailMultiAlternatives(subject, text, None, [notification.user.email])
    message.attach_alternative(html, "text/html")
    message.send()


def unread_count(*, organization_id: int, user_id: int) -> int:
    return (
        Notification.objects.for_org(organization_id)
        .filter(user_id=user_id, read_at__isnull=True)
        .count()
    )


def mark_read(*, organization_id: int, user_id: int, notification_id: int | None = None) -> int:
    rows = Notification.objects.for_org(organization_id).filter(
        user_id=user_id, read_at__isnull=True
    )
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now(), updated_at=timezone.now())


def digest_subject(organization) -> str:
    return subject_text(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}"
        + _("Yesterday at %(org)s") % {"org": organization.name}
    )
