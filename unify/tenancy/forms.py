from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from unify.core.i18n import set_user_language
from unify.tenancy.models import Invitation, Organization, Role
from unify.tenancy.timezones import DEFAULT_TIMEZONE, canonical_timezone, timezone_field


def _pending_invitation_in_session(request: HttpRequest | None) -> Invitation | None:
    """The invitation whose link this browser opened before signing up, if still valid."""
    from unify.tenancy.selectors import invitation_by_token
    from unify.tenancy.services import INVITATION_SESSION_KEY

    if request is None or not hasattr(request, "session"):
        return None
    token = request.session.get(INVITATION_SESSION_KEY)
    invitation = invitation_by_token(token=token) if token else None
    return invitation if invitation is not None and invitation.is_pending else None


class SignupOrganizationForm(forms.Form):
    """Extra sign-up field: the organization the new user will own.

    allauth builds its sign-up form on top of this class. Someone who arrives through an
    invitation joins that organization instead, so for them the company name is optional and
    only a typed name creates a second, own organization.
    """

    field_order = ["organization_name", "timezone", "email", "password1", "password2"]

    organization_name = forms.CharField(
        label=_("Company name"),
        max_length=120,
        help_text=_("Your business as it should appear in Unify. You can change it later."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Prefilled with the browser's zone by static/js/timezone.js (while nobody chose one).
        self.fields["timezone"] = timezone_field(
            autodetect=not self.is_bound,
            initial=DEFAULT_TIMEZONE,
            required=False,  # a sign-up without it (no browser) gets the default zone
            help_text=_("Dates on every screen and in exports are shown in this time zone."),
        )
        from allauth.core import context as allauth_context

        self.invitation = _pending_invitation_in_session(allauth_context.request)
        if self.invitation is not None:
            field = self.fields["organization_name"]
            field.required = False
            field.label = _("Company name (optional)")
            field.help_text = _(
                "You are joining %(org)s. Fill this in only if you also want an organization "
                "of your own."
            ) % {"org": self.invitation.organization.name}

    def signup(self, request, user) -> None:
        from unify.tenancy.services import (
            INVITATION_SESSION_KEY,
            invitation_accept,
            organization_create,
        )

        # The language the sign-up page was read in (Accept-Language or the footer's choice)
        # becomes the person's own: their emails and pages keep it on every device.
        set_user_language(user, translation.get_language() or "")
        invitation = _pending_invitation_in_session(request)
        request.session.pop(INVITATION_SESSION_KEY, None)
        name = (self.cleaned_data.get("organization_name") or "").strip()
        if invitation is not None:
            if invitation.email.lower() == (user.email or "").lower():
                invitation_accept(invitation=invitation, user=user, request=request)
                request.session["last_org"] = invitation.organization.slug
                if not name:
                    return
            else:
                # Signed up with another address than the invited one: that address was not
                # proven by the invitation link, so it goes through normal verification, and
                # the invitation stays open for its own address.
                request.session["account_verified_email"] = None
        if not name:
            name = _("%(name)s's company") % {"name": (user.email or "new").split("@")[0]}
        org = organization_create(
            name=name,
            owner=user,
            timezone_name=self.cleaned_data.get("timezone") or DEFAULT_TIMEZONE,
        )
        request.session["last_org"] = org.slug


class ProfileForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        help_text=_(
            "Pages and the emails Unify sends you are in this language. Dates and times stay "
            "in each organization's own time zone."
        ),
    )


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)

    def __init__(self, *args, current_timezone: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"] = timezone_field(
            current=current_timezone,
            help_text=_("Dates on every screen and in exports are shown in this time zone."),
        )

    @classmethod
    def for_organization(cls, organization: Organization, data=None):
        return cls(
            data=data,
            # An old name saved before (US/Eastern) shows as the zone's current name.
            initial={
                "name": organization.name,
                "timezone": canonical_timezone(organization.timezone),
            },
            current_timezone=organization.timezone,
        )


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
