"""Ledger providers listed in settings (``UNIFY_LEDGER_PROVIDERS``, dotted paths): the one
list of ledgers, in the Accounting tab's order.

No ``if provider == <a ledger's key>`` anywhere else: services and views ask the registry.
A ledger the product names before it can be connected is an entry like any other whose provider sets
``planned = True``: its card says "coming soon", and nothing else sees it (no connect, no
adapter). A system check imports every listed provider at start-up so a typo fails
``manage.py check``, not the first posting.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from accounting.ledgers.base import LedgerProvider


class UnknownLedger(LookupError):
    pass


@cache
def _load(paths: tuple[str, ...]) -> dict[str, LedgerProvider]:
    providers: dict[str, LedgerProvider] = {}
    for path in paths:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, LedgerProvider)):
            raise TypeError(f"{path} is not a LedgerProvider")
        providers[cls.key] = cls()
    return providers


def _entries() -> dict[str, LedgerProvider]:
    return _load(tuple(settings.UNIFY_LEDGER_PROVIDERS))


def ledger_providers() -> dict[str, LedgerProvider]:
    """The ledgers that can be connected (planned ones left out), by key."""
    return {key: p for key, p in _entries().items() if not p.planned}


def get_provider(key: str) -> LedgerProvider:
    try:
        return ledger_providers()[key]
    except KeyError:
        raise UnknownLedger(key) from None


def ledger_url_patterns(scope: str) -> list:
    """Every registered ledger's own URL patterns for ``scope`` ("tenant" or "callback": each
    under its key; "root": at the site's root, as the ledger's paths say), see
    ``LedgerProvider.url_patterns``."""
    from django.urls import include, path

    return [
        path("" if scope == "root" else f"{key}/", include(patterns))
        for key, provider in ledger_providers().items()
        if (patterns := provider.url_patterns(scope))
    ]


def ledger_cards() -> list[dict[str, object]]:
    """Every ledger the product knows, available or planned, in display order."""
    return [
        {
            "key": key,
            "name": provider.name,
            "provider": None if provider.planned else provider,
            "available": not provider.planned,
        }
        for key, provider in _entries().items()
    ]


@register()
def check_ledger_providers(app_configs=None, **kwargs) -> list[Error]:
    try:
        ledger_providers()
    except Exception as exc:  # noqa: BLE001 - any import problem is reported the same way
        return [
            Error(
                str(_("UNIFY_LEDGER_PROVIDERS cannot be loaded: %(error)s") % {"error": exc}),
                id="accounting.E001",
            )
        ]
    return []
