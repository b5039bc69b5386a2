from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from unify.tenancy.models import Invitation, Membership, Organization


def membership_for(*, user, slug: str) -> Membership | None:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )


def membership_among(memberships: list[Membership], slug: str) -> Membership | None:
    """The URL's organization's membership out of the person's memberships (one query for
    the page's organization and the organization menu)."""
    return next((m for m in memberships if m.organization.slug == slug), None)


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
