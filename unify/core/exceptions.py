"""The one error tree of Unify. Clients raise these, adapters translate provider errors into
them, tasks decide on retries, views show ``user_message``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from unify.core.stored_text import stored


class UnifyError(Exception):
    default_user_message = _("Something went wrong. Please try again.")

    def __init__(self, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or str(user_message or self.default_user_message))
        # A StoredText (or a lazy string) keeps its msgid: a worker that stores it lets each
        # reader see it in their own language (unify.core.stored_text).
        self.user_message = stored(user_message or self.default_user_message)


class DomainError(UnifyError):
    """A business rule said no (plan limits, duplicates, invalid state)."""


class TenantScopeError(UnifyError):
    """Tenant-owned data was touched outside an organization scope, or across scopes."""


class DecryptionError(UnifyError):
    default_user_message = _("A stored secret could not be decrypted.")


class IntegrationError(UnifyError):
    """A provider (an order source, a ledger) failed. Carries the provider and connection."""

    retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        provider: str = "",
        connection_id: int | None = None,
        user_message: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.provider = provider
        self.connection_id = connection_id
        self.status_code = status_code


class ProviderAuthError(IntegrationError):
    """The credentials were rejected: the connection needs new ones. Never retried."""

    default_user_message = _("The provider rejected the credentials. Please enter new ones.")


class ProviderUnavailable(IntegrationError):
    """5xx, timeouts, connection failures. Retried with backoff."""

    retryable = True
    default_user_message = _("The provider is not answering right now. Please try again shortly.")


class ProviderRateLimited(IntegrationError):
    retryable = True
    default_user_message = _("The provider's rate limit was reached. Please wait a minute.")

    def __init__(self, message: str = "", *, retry_after: float = 60.0, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderRejected(IntegrationError):
    """The provider refused the request itself (validation). Stored on the record."""

    default_user_message = _("The provider refused this record.")

    def __init__(
        self,
        message: str = "",
        *,
        field_errors: dict | None = None,
        hold_reason: str = "",
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or {}
        # Set when the merchant must change something in the provider first (the books'
        # closing date, its currencies): ``accounting.models.HoldReason``.
        self.hold_reason = hold_reason


class ProviderResponseInvalid(IntegrationError):
    """The provider answered with something we cannot read (truncated or malformed body)."""

    retryable = True
    default_user_message = _("The provider sent an unreadable answer. Please try again.")
