from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from unify.core import crypto
from unify.core.audit import audit_record
from unify.tenancy.models import Membership


class AccountAdapter(DefaultAccountAdapter):
    def login(self, request, user) -> None:
        super().login(request, user)
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
