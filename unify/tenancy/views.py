from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from unify.core.audit import audit_events_for
from unify.core.exceptions import DomainError
from unify.core.i18n import set_user_language
from unify.core.site import site_url
from unify.tenancy import selectors, services
from unify.tenancy.decorators import require_reauthentication, require_role
from unify.tenancy.forms import (
    DeleteOrganizationForm,
    InvitationForm,
    OrganizationCreateForm,
    OrganizationSettingsForm,
    ProfileForm,
    RoleForm,
)
from unify.tenancy.models import Invitation, Membership, Role


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "tenancy/landing.html")
    token = request.session.pop(services.INVITATION_SESSION_KEY, None)
    if token:
        # Once: show the invitation this browser opened before signing in. A spent or
        # expired one is dropped instead of sending the user back to it forever.
        invitation = selectors.invitation_by_token(token=token)
        if invitation is not None and invitation.is_pending:
            return redirect("invitation_accept", token=token)
    org = selectors.default_organization_for(
        user=request.user, preferred_slug=request.session.get("last_org")
    )
    if org is None:
        return redirect("organization_create")
    return redirect("tenancy:dashboard", org_slug=org.slug)


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org = services.organization_create(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, _("%(name)s is ready.") % {"name": org.name})
        return redirect("tenancy:dashboard", org_slug=org.slug)
    return render(request, "tenancy/organization_create.html", {"form": form})


@require_role(Role.MEMBER)
def dashboard(request: HttpRequest) -> HttpResponse:
    from unify.tenancy.dashboard import dashboard_charts_context, dashboard_summary

    return render(
        request,
        "tenancy/dashboard.html",
        {
            "summary": dashboard_summary(organization=request.organization),
            **dashboard_charts_context(request),
        },
    )


@require_role(Role.ADMIN)
def settings_organization(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = OrganizationSettingsForm.for_organization(org, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.organization_update(
            organization=org,
            actor=request.user,
            name=form.cleaned_data["name"],
            timezone_name=form.cleaned_data["timezone"],
            request=request,
        )
        messages.success(request, _("Organization settings saved."))
        return redirect("tenancy:settings_organization", org_slug=org.slug)
    return render(
        request,
        "tenancy/settings_organization.html",
        {
            "form": form,
            "plan": org.plan_rules,
            "audit_events": audit_events_for(organization=org, limit=25),
            "delete_form": DeleteOrganizationForm(organization=org),
        },
    )


@require_role(Role.MEMBER)
def settings_members(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.has_role(Role.ADMIN):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        if form.is_valid():
            try:
                services.invitation_create(
                    actor_membership=request.membership,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    accept_url_builder=lambda inv: site_url(
                        reverse("invitation_accept", kwargs={"token": inv.token})
                    ),
                    request=request,
                )
            except DomainError as exc:
                form.add_error("email", exc.user_message)
            else:
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
                )
                return redirect("tenancy:settings_members", org_slug=org.slug)
    return render(
        request,
        "tenancy/settings_members.html",
        {
            "members": selectors.members_of(organization=org),
            "invitations": selectors.pending_invitations_of(organization=org),
            "form": form,
            "role_choices": Role.choices,
            "can_manage": request.membership.has_role(Role.ADMIN),
            # The last owner cannot leave (the service refuses); do not offer the button.
            "can_leave": not (
                request.membership.role == Role.OWNER
                and selectors.members_of(organization=org).filter(role=Role.OWNER).count() == 1
            ),
        },
    )


def _membership_or_404(request: HttpRequest, membership_id: int) -> Membership:
    try:
        return selectors.membership_get(
            organization=request.organization, membership_id=membership_id
        )
    except Membership.DoesNotExist as exc:
        raise Http404 from exc


@require_POST
@require_role(Role.ADMIN)
def member_role_change(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                actor_membership=request.membership,
                membership=membership,
                role=form.cleaned_data["role"],
                request=request,
            )
            messages.success(request, _("Role updated."))
        except DomainError as exc:
            messages.error(request, exc.user_message)
    return redirect("tenancy:settings_members", org_slug=request.organization.slug)


@require_POST
@require_role(Role.MEMBER)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    leaving = membership.pk == request.membership.pk
    if not leaving and not request.membership.has_role(Role.ADMIN):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    try:
        services.membership_remove(
            actor_membership=request.membership, membership=membership, request=request
        )
    except DomainError as exc:
        messages.error(request, exc.user_message)
        return redirect("tenancy:settings_members", org_slug=request.organization.slug)
    if leaving:
        messages.success(request, _("You left %(org)s.") % {"org": request.organization.name})
        return redirect("home")
    messages.success(request, _("Member removed."))
    return redirect("tenancy:settings_members", org_slug=request.organization.slug)


@require_POST
@require_role(Role.ADMIN)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = (
        selectors.pending_invitations_of(organization=request.organization)
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    services.invitation_revoke(
        actor_membership=request.membership, invitation=invitation, request=request
    )
    messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    return redirect("tenancy:settings_members", org_slug=request.organization.slug)


@require_role(Role.MEMBER)
def settings_security(request: HttpRequest) -> HttpResponse:
    return render(request, "tenancy/settings_security.html")


@require_POST
@require_role(Role.OWNER)
@require_reauthentication(
    back=lambda request: reverse(
        "tenancy:settings_organization", kwargs={"org_slug": request.organization.slug}
    )
)
def organization_delete(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = DeleteOrganizationForm(request.POST, organization=org)
    if not form.is_valid():
        messages.error(request, form.errors["confirm_slug"][0])
        return redirect("tenancy:settings_organization", org_slug=org.slug)
    name = org.name
    services.organization_delete(organization=org, actor_membership=request.membership)
    request.session.pop("last_org", None)
    messages.success(request, _("%(name)s was deleted.") % {"name": name})
    return redirect("home")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation: Invitation | None = selectors.invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    if not request.user.is_authenticated:
        if invitation.is_pending:
            request.session[services.INVITATION_SESSION_KEY] = token
            # The link came to this address, so signing up with it needs no second email.
            from allauth.account.adapter import get_adapter

            get_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "tenancy/invitation_accept.html", {"invitation": invitation})
    if request.method == "POST":
        request.session.pop(services.INVITATION_SESSION_KEY, None)
        try:
            membership = services.invitation_accept(
                invitation=invitation, user=request.user, request=request
            )
        except DomainError as exc:
            messages.error(request, exc.user_message)
            return redirect("invitation_accept", token=token)
        messages.success(request, _("Welcome to %(org)s.") % {"org": membership.organization.name})
        return redirect("tenancy:dashboard", org_slug=membership.organization.slug)
    return render(request, "tenancy/invitation_accept.html", {"invitation": invitation})


@require_role(Role.MEMBER)
def settings_profile(request: HttpRequest) -> HttpResponse:
    """Settings > Profile: the person's own language (any organization they open)."""
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            set_user_language(request.user, form.cleaned_data["language"], request)
            messages.success(request, _("Your profile was saved."))
            return redirect("tenancy:settings_profile", org_slug=request.organization.slug)
    else:
        form = ProfileForm(initial={"language": translation.get_language()})
    return render(request, "tenancy/settings_profile.html", {"form": form})
