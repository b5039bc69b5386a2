"""Email helpers."""

from __future__ import annotations

import unicodedata

SUBJECT_NAME_MAX = 100


def subject_text(value: object, *, max_length: int = SUBJECT_NAME_MAX) -> str:
    """A name someone typed (organization, connection, company) as it may stand in an email
    subject: one line of plain text. Line breaks (any of Unicode's), tabs and other control
    characters become spaces and runs of spaces one, so a name can neither add a header nor
    make the mail fail to send; a very long name is cut with an ellipsis. No HTML escaping:
    a subject is plain text."""
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in str(value)
    )
    text = " ".join(text.split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text
