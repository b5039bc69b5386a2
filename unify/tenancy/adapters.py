from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.utils import translation

from unify.core import crypto
from unify.core.audit import audit_record
from unify.core.i18n import languages_of, remember_in_session, user_language
from unify.core.site import SITE_NAME, current_site, site_url
from unify.tenancy.models import Membership


def _on_site(url: str) -> str:
    """An absolute link built from the request's host, moved onto ``UNIFY_SITE_URL``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    return site_url(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every account email (confirmation, password reset, notices) names Unify, not the
        host the request came to, and links to the configured site address."""
        context = {
            key: _on_site(value) if key.endswith("_url") and isinstance(value, str) else value
            for key, value in context.items()
        }
        context.update(current_site=current_site(), site_name=SITE_NAME, site_url=site_url("/"))
        # In the recipient's language (their profile's), else the page's.
        (language,) = languages_of([email])
        with translation.override(language):
            super().send_mail(template_prefix, email, context)

    def login(self, request, user) -> None:
        super().login(request, user)
        remember_in_session(request, user_language(user))
        # A sign-in shows in the audit log of every organization the user belongs to.
        org_ids = Membership.objects.filter(user=user).values_list("organization_id", flat=True)
        for org_id in list(org_ids) or [None]:
            audit_record(
                action="user.signed_in",
                organization_id=org_id,
                actor=user,
                target=f"user:{user.pk}",
                request=request,
            )


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are stored encrypted under UNIFY_ENCRYPTION_KEYS
    (allauth's default keeps them in the clear), and rotate with the other secrets."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
