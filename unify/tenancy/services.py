from __future__ import annotations

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from unify.core.audit import audit_record
from unify.core.exceptions import DomainError
from unify.core.i18n import send_mail_each_language
from unify.core.mail import subject_text
from unify.tenancy.models import ROLE_RANK, Invitation, Membership, Organization, Role

INVITATION_SESSION_KEY = "unify_invitation_token"


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(
    *, name: str, owner, timezone_name: str = "America/New_York", plan: str | None = None
) -> Organization:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                org = Organization.objects.create(
                    name=name.strip(),
                    slug=_unique_slug(name),
                    timezone=timezone_name,
                    **({"plan": plan} if plan else {}),
                )
            break
        except IntegrityError:  # a concurrent sign-up took the slug between check and insert
            continue
    else:
        raise DomainError("could not allocate a slug", user_message=_("Please try another name."))
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    audit_record(action="organization.created", organization=org, actor=owner, target=org)
    return org


def organization_update(
    *, organization: Organization, actor, name: str, timezone_name: str, request=None
) -> Organization:
    changed = {}
    if organization.name != name:
        changed["name"] = [organization.name, name]
    if organization.timezone != timezone_name:
        changed["timezone"] = [organization.timezone, timezone_name]
    organization.name = name
    organization.timezone = timezone_name
    organization.full_clean()
    organization.save(update_fields=["name", "timezone", "updated_at"])
    if changed:
        audit_record(
            action="organization.updated",
            organization=organization,
            actor=actor,
            target=organization,
            metadata=changed,
            request=request,
        )
    return organization


def organization_delete(*, organization: Organization, actor_membership: Membership) -> None:
    if actor_membership.role != Role.OWNER:
        raise DomainError(
            "only owners delete", user_message=_("Only an owner can delete the organization.")
        )
    organization.delete()


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(
    *, actor_membership: Membership, membership: Membership, role: str, request=None
) -> Membership:
    if membership.organization_id != actor_membership.organization_id:
        raise DomainError("cross-organization change")
    if not actor_membership.has_role(Role.ADMIN):
        raise DomainError("not allowed", user_message=_("You cannot manage members."))
    # Only owners hand out or take away ownership.
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and actor_membership.role != Role.OWNER:
        raise DomainError("owner only", user_message=_("Only an owner can change an owner's role."))
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and _owner_count(membership.organization) <= 1
    ):
        raise DomainError(
            "last owner", user_message=_("The organization needs at least one owner.")
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        action="membership.role_changed",
        organization=membership.organization,
        actor=actor_membership.user,
        target=membership,
        metadata={"user": membership.user.email, "from": old, "to": role},
        request=request,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, actor_membership: Membership, membership: Membership, request=None
) -> None:
    if membership.organization_id != actor_membership.organization_id:
        raise DomainError("cross-organization change")
    is_self = membership.pk == actor_membership.pk
    if not is_self and not actor_membership.has_role(Role.ADMIN):
        raise DomainError("not allowed", user_message=_("You cannot manage members."))
    if ROLE_RANK[membership.role] > ROLE_RANK[actor_membership.role]:
        raise DomainError("outranked", user_message=_("You cannot remove someone above your role."))
    if membership.role == Role.OWNER and _owner_count(membership.organization) <= 1:
        raise DomainError(
            "last owner", user_message=_("The organization needs at least one owner.")
        )
    audit_record(
        action="membership.removed",
        organization=membership.organization,
        actor=actor_membership.user,
        target=membership,
        metadata={"user": membership.user.email, "role": membership.role},
        request=request,
    )
    membership.delete()


def invitation_create(
    *, actor_membership: Membership, email: str, role: str, accept_url_builder, request=None
) -> Invitation:
    organization = actor_membership.organization
    if not actor_membership.has_role(Role.ADMIN):
        raise DomainError("not allowed", user_message=_("You cannot invite members."))
    if role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise DomainError("owner only", user_message=_("Only an owner can invite an owner."))
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise DomainError(
            "already member", user_message=_("%(email)s is already a member.") % {"email": email}
        )
    # Open invitations count as seats: otherwise a plan's limit could be passed by inviting
    # many people first and letting them all accept.
    seats_taken = (
        Membership.objects.filter(organization=organization).count()
        + Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .exclude(email__iexact=email)
        .count()
    )
    if seats_taken >= organization.plan_rules.max_members:
        raise DomainError(
            "member limit",
            user_message=_("Your plan allows %(n)d members. Upgrade to invite more.")
            % {"n": organization.plan_rules.max_members},
        )
    # A new invitation replaces any pending one for the same address.
    Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor_membership.user
    )
    accept_url = accept_url_builder(invitation)
    context = {"invitation": invitation, "accept_url": accept_url, "inviter": actor_membership.user}
    # In the invitee's language when they already have an account, else the inviter's.
    send_mail_each_language(
        [email],
        lambda: (
            _("You are invited to %(org)s on Unify") % {"org": subject_text(organization.name)},
            render_to_string("tenancy/email/invitation.txt", context),
        ),
    )
    audit_record(
        action="invitation.created",
        organization=organization,
        actor=actor_membership.user,
        target=invitation,
        metadata={"email": email, "role": role},
        request=request,
    )
    return invitation


def invitation_revoke(
    *, actor_membership: Membership, invitation: Invitation, request=None
) -> None:
    if invitation.organization_id != actor_membership.organization_id:
        raise DomainError("cross-organization change")
    if not actor_membership.has_role(Role.ADMIN):
        raise DomainError("not allowed", user_message=_("You cannot manage invitations."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        action="invitation.revoked",
        organization=invitation.organization,
        actor=actor_membership.user,
        target=invitation,
        metadata={"email": invitation.email},
        request=request,
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user, request=None) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise DomainError(
            "not pending", user_message=_("This invitation has expired or was already used.")
        )
    if invitation.email.lower() != (user.email or "").lower():
        raise DomainError(
            "email mismatch",
            user_message=_(
                "This invitation was sent to %(email)s. Sign in with that address to accept it."
            )
            % {"email": invitation.email},
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    audit_record(
        action="invitation.accepted",
        organization=invitation.organization,
        actor=user,
        target=invitation,
        metadata={"email": invitation.email, "role": membership.role, "new_member": created},
        request=request,
    )
    return membership
