"""Unify's own name and address, for what is read outside the browser (emails)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

SITE_NAME = "Unify"


def site_url(path: str = "") -> str:
    """``path`` (from ``reverse``) as an absolute link on ``UNIFY_SITE_URL``."""
    base = settings.UNIFY_SITE_URL.rstrip("/")
    if not path:
        return base
    return f"{base}/{path.lstrip('/')}"


@dataclass(frozen=True, slots=True)
class Site:
    """What allauth's email templates read as ``current_site``."""

    name: str
    domain: str

    def __str__(self) -> str:
        return self.name


def current_site() -> Site:
    return Site(name=SITE_NAME, domain=urlsplit(settings.UNIFY_SITE_URL).netloc)
