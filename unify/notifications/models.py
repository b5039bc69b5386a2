"""In-app notifications, their emails and each person's choice per kind.

An event (``NotificationEvent``) is recorded once per dedupe key: recording it again does
nothing, so neither a notification nor an email is ever made twice for the same event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from unify.tenancy.models import OrgOwnedModel


class Kind(models.TextChoices):
    KEYS_EXPIRED = "keys_expired", _("Connection keys expired")
    LEDGER_DISCONNECTED = "ledger_disconnected", _("Ledger disconnected")
    RUN_FAILED = "run_failed", _("A sync or posting run failed")
    DAILY_LIMIT = "daily_limit", _("Daily ledger limit reached")
    FIRST_IMPORT = "first_import", _("First import finished")


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", _("Email immediately")
    DIGEST = "digest", _("Daily digest")
    OFF = "off", _("Off")


class NotificationEvent(OrgOwnedModel):
    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    dedupe_key = models.CharField(max_length=200)
    # Only plain values the message needs (names, counts): never secrets.
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="notification_event_once"
            )
        ]
        verbose_name = _("notification event")

    def __str__(self) -> str:
        return self.dedupe_key


class Notification(OrgOwnedModel):
    event = models.ForeignKey(
        NotificationEvent, on_delete=models.CASCADE, related_name="notifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.IMMEDIATE)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by the one email task that may send it (claimed before sending).
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_user")
        ]
        indexes = [models.Index(fields=["organization", "user", "read_at"], name="notif_unread")]
        verbose_name = _("notification")

    def __str__(self) -> str:
        return f"{self.event} → {self.user_id}"


class NotificationPreference(OrgOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind)
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.IMMEDIATE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "kind"], name="notification_pref_once"
            )
        ]
        verbose_name = _("notification preference")


class DigestSent(OrgOwnedModel):
    """One daily digest per person, organization and day: claimed before it is sent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "day"], name="digest_once")
        ]
        verbose_name = _("daily digest")
