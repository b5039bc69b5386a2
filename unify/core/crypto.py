"""Symmetric encryption of secrets at rest with ``MultiFernet``.

Keys come from ``UNIFY_ENCRYPTION_KEYS`` (comma-separated, newest first), deliberately separate
from ``SECRET_KEY`` so rotating one never touches the other.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from unify.core.exceptions import DecryptionError


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise DecryptionError("UNIFY_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.UNIFY_ENCRYPTION_KEYS)


def encrypt(plaintext: str) -> str:
    return _multifernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multifernet(_keys()).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError(
            "stored secret cannot be decrypted with any key in UNIFY_ENCRYPTION_KEYS"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key (it must decrypt under one of the keys)."""
    try:
        return _multifernet(_keys()).rotate(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("stored secret cannot be rotated: no key decrypts it") from exc


def is_under_newest_key(token: str) -> bool:
    try:
        Fernet(_keys()[0].encode()).decrypt(token.encode())
    except (InvalidToken, ValueError):
        return False
    return True
