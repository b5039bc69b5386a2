"""A last line of defence: log records never carry credentials, whatever a caller passes."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (
        re.compile(r"(?i)(authorization:\s*)(basic|bearer)\s+[A-Za-z0-9+/=._\-]+"),
        r"\1\2 [redacted]",
    ),
    (
        re.compile(
            r"(?i)((?:api_?secret|api_?key|access_token|refresh_token|password|client_secret)"
            r"['\"]?\s*[:=]\s*['\"]?)[^'\"\s,&}]+"
        ),
        r"\1[redacted]",
    ),
]

# URLs whose path or query carries a credential: a webhook's token names (and unlocks) its
# connection, a password-reset, email-confirmation or invitation key takes over or joins an
# account, and an OAuth ``code``/``state`` completes a ledger connection. Access logs and
# Django's "Not Found: <path>" warnings would otherwise keep them.
_URL_END = r"[^/\s?#\"']+"
_URL_PATTERNS = [
    (re.compile(r"(/webhooks/[\w-]+/)" + _URL_END), r"\1[redacted]"),
    (re.compile(r"(/password/reset/key/)(?!done/)" + _URL_END), r"\1[redacted]"),
    (re.compile(r"(/confirm-email/)" + _URL_END), r"\1[redacted]"),
    (re.compile(r"(/invitations/)" + _URL_END), r"\1[redacted]"),
    (re.compile(r"([?&](?:code|state)=)[^&\s#\"']+"), r"\1[redacted]"),
]


def redact_url(text: str) -> str:
    """``text`` with the secret parts of our URLs (path tokens, OAuth query values) replaced."""
    for pattern, replacement in _URL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return redact_url(text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
