"""The refusal every connection service and source provider raises: a plain message for the
person at the form, and a code tests and views branch on."""

from __future__ import annotations

from unify.core.exceptions import DomainError


class ConnectionRefused(DomainError):
    """A connection action was refused. ``code`` says why (tests and views branch on it);
    ``field`` names the form field the message belongs to, if any."""

    def __init__(self, code: str, user_message: str, *, field: str | None = None) -> None:
        super().__init__(f"{code}: {user_message}", user_message=user_message)
        self.code = code
        self.field = field
