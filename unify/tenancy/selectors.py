from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from unify.tenancy.models import Invitation, Membership, Organization


def membership_for(*, user, slug: str) -> Membership | None:
    """The person's membership of the URL's organization, with the bell's unread count
    (``notifications_unread``) in the same query: every page shows it."""
    from django.db.models import Count, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from unify.notifications.models import Notification

    unread = (
        Notification.all_orgs.filter(
            organization_id=OuterRef("organization_id"),
            user_id=OuterRef("user_id"),
            read_at__isnull=True,
        )
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .annotate(notifications_unread=Coalesce(Subquery(unread), 0))
        .first()
    )


def owner_emails(*, organization_id: int, exclude_user_id: int | None = None) -> list[str]:
    """The email addresses of the organization's owners (who hear of what only an owner can
    decide), in the order they joined; ``exclude_user_id`` leaves one person out."""
    from unify.tenancy.models import Role

    owners = Membership.objects.filter(organization_id=organization_id, role=Role.OWNER)
    if exclude_user_id is not None:
        owners = owners.exclude(user_id=exclude_user_id)
    return [email for email in owners.order_by("pk").values_list("user__email", flat=True) if email]


def memberships_of(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )


def membership_get(*, organization: Organization, membership_id: int) -> Membership:
    return Membership.objects.select_related("user").get(
        organization=organization, pk=membership_id
    )


def pending_invitations_of(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def invitation_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token=token).first()


def default_organization_for(*, user, preferred_slug: str | None = None) -> Organization | None:
    memberships = memberships_of(user=user)
    if preferred_slug:
        chosen = memberships.filter(organization__slug=preferred_slug).first()
        if chosen:
            return chosen.organization
    first = memberships.first()
    return first.organization if first else None
