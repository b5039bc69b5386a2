"""The daily digest: yesterday in one email, for the people who chose it for some kind."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from unify.core.site import site_url
from unify.notifications import messages
from unify.notifications.models import Delivery, DigestSent, Notification, NotificationPreference
from unify.notifications.services import digest_subject, language_for
from unify.tenancy.models import Membership, Organization
from unify.tenancy.scoping import org_scope

logger = logging.getLogger(__name__)


def _day_bounds(organization: Organization, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=organization.tzinfo)
    return start, start + timedelta(days=1)


def day_figures(organization: Organization, day: date) -> dict:
    """Orders imported, posted, failed and label costs of one day in the org's time zone."""
    from accounting.models import Posting, PostingState
    from sales.models import Order, ShippingCost

    start, end = _day_bounds(organization, day)
    org_id = organization.pk
    costs = ShippingCost.all_orgs.filter(
        organization_id=org_id, created_at__gte=start, created_at__lt=end, voided=False
    ).aggregate(total=Sum("cost"))["total"]
    return {
        "imported": Order.all_orgs.filter(
            organization_id=org_id, created_at__gte=start, created_at__lt=end
        ).count(),
        "posted": Posting.all_orgs.filter(
            organization_id=org_id,
            status=PostingState.POSTED,
            posted_at__gte=start,
            posted_at__lt=end,
        ).count(),
        "failed": Posting.all_orgs.filter(
            organization_id=org_id,
            status=PostingState.FAILED,
            updated_at__gte=start,
            updated_at__lt=end,
        ).count(),
        "label_costs": costs or Decimal("0.00"),
    }


def digest_recipients(organization_id: int) -> list[int]:
    """Members who chose the daily digest for at least one kind."""
    members = set(
        Membership.objects.filter(organization_id=organization_id).values_list("user_id", flat=True)
    )
    chose = set(
        NotificationPreference.all_orgs.filter(
            organization_id=organization_id, delivery=Delivery.DIGEST
        ).values_list("user_id", flat=True)
    )
    return sorted(members & chose)


def send_daily_digests(*, today: date | None = None) -> int:
    """Yesterday's digest to everyone who chose it, once per person, organization and day.
    Returns how many were sent."""
    from unify.tenancy.rls import rls_bypass

    sent = 0
    with rls_bypass("beat-fanout"):  # who chose a digest; each is written in its scope
        org_ids = list(
            NotificationPreference.all_orgs.filter(delivery=Delivery.DIGEST)
            .values_list("organization_id", flat=True)
            .distinct()
        )
    for organization in Organization.objects.filter(pk__in=org_ids).order_by("pk"):
        day = (today or timezone.now().astimezone(organization.tzinfo).date()) - timedelta(days=1)
        for user_id in digest_recipients(organization.pk):
            try:
                if send_digest(organization=organization, user_id=user_id, day=day):
                    sent += 1
            except Exception:
                logger.exception("digest for user %s of org %s failed", user_id, organization.pk)
    return sent


def send_digest(*, organization: Organization, user_id: int, day: date) -> bool:
    with org_scope(organization.pk):
        try:
            with transaction.atomic():
                claim = DigestSent.objects.create(
                    organization_id=organization.pk, user_id=user_id, day=day
                )
        except IntegrityError:
            return False  # already sent (or being sent) for this day
        membership = Membership.objects.select_related("user").get(
            organization_id=organization.pk, user_id=user_id
        )
        user = membership.user
        if not user.email:
            return False
        start, end = _day_bounds(organization, day)
        notes = (
            Notification.objects.filter(
                user_id=user_id,
                delivery=Delivery.DIGEST,
                created_at__gte=start,
                created_at__lt=end,
            )
            .select_related("event")
            .order_by("created_at", "pk")
        )
        with translation.override(language_for(user)):
            context = {
                "organization": organization,
                "day": day,
                "figures": day_figures(organization, day),
                "items": [
                    {
                        "title": messages.title(n.event.kind, n.event.params),
                        "url": site_url(n.event.link) if n.event.link else "",
                    }
                    for n in notes
                ],
                "url": site_url(
                    reverse("tenancy:dashboard", kwargs={"org_slug": organization.slug})
                ),
            }
            subject = digest_subject(organization)
            text = render_to_string("notifications/email/digest.txt", context)
            html = render_to_string("notifications/email/digest.html", context)
        message = EmailMultiAlternatives(subject, text, None, [user.email])
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except Exception:
            claim.delete()  # not sent: the next run may try again
            raise
        DigestSent.objects.filter(pk=claim.pk).update(sent_at=timezone.now())
        return True
