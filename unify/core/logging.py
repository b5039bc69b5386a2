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


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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
