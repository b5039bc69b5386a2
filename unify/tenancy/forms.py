from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from unify.tenancy.models import Organization, Role

COMMON_TIMEZONES = sorted(zoneinfo.available_timezones())


class SignupOrganizationForm(forms.Form):
    """Extra sign-up field: the organization the new user will own."""

    organization_name = forms.CharField(
        label=_("Company name"),
        max_length=120,
        required=False,
        help_text=_("Your business as it should appear in Unify. You can change it later."),
    )

    def signup(self, request, user) -> None:
        from unify.tenancy.selectors import invitation_by_token
        from unify.tenancy.services import (
            INVITATION_SESSION_KEY,
            invitation_accept,
            organization_create,
        )

        token = request.session.pop(INVITATION_SESSION_KEY, None)
        invitation = invitation_by_token(token=token) if token else None
        if invitation and invitation.is_pending and (
            invitation.email.lower() == (user.email or "").lower()
        ):
            invitation_accept(invitation=invitation, user=user, request=request)
            request.session["last_org"] = invitation.organization.slug
            if not self.cleaned_data.get("organization_name"):
                return
        name = self.cleaned_data.get("organization_name") or _("%(email)s's company") % {
            "email": user.email.split("@")[0]
        }
        org = organization_create(name=name, owner=user)
        request.session["last_org"] = org.slug


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(tz, tz) for tz in COMMON_TIMEZONES],
        help_text=_("Dates on every screen and in exports are shown in this time zone."),
    )

    @classmethod
    def for_organization(cls, organization: Organization, data=None):
        return cls(data=data, initial={"name": organization.name, "timezone": organization.timezone})


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DeleteOrganizationForm(forms.Form):
    confirm_slug = forms.CharField(
        label=_("Type the organization's short name to confirm"), max_length=60
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_confirm_slug(self) -> str:
        value = self.cleaned_data["confirm_slug"].strip()
        if value != self.organization.slug:
            raise forms.ValidationError(_("That is not this organization's short name."))
        return value
