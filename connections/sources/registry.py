"""Order sources, listed in ``settings.UNIFY_SOURCE_PROVIDERS`` (dotted paths of
:class:`~connections.sources.provider.SourceProvider` subclasses) and keyed by their ``key``
(the value stored in ``StoreConnection.provider``). This is the one list of sources: no
``if provider == ...`` anywhere else; services, views and the webhook route ask the registry.

A system check (registered in ``ConnectionsConfig.ready``) imports every listed provider at
start-up, so a typo in the setting stops ``runserver``/``migrate``/``check`` instead of
failing on the first sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from connections.sources.base import SourceAdapter
from connections.sources.provider import SourceProvider
from unify.core.http import RateLimiter


class UnknownSourceProvider(LookupError):
    pass


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> dict[str, SourceProvider]:
    providers: dict[str, SourceProvider] = {}
    for path in paths:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, SourceProvider)):
            raise TypeError(f"{path} is not a SourceProvider subclass")
        if cls.key in providers:
            raise ValueError(f"two source providers use the key {cls.key!r}")
        providers[cls.key] = cls()
    return providers


def source_providers() -> dict[str, SourceProvider]:
    """Every configured provider by key, in the setting's order (read at call time)."""
    return dict(_load(tuple(settings.UNIFY_SOURCE_PROVIDERS)))


def connectable_providers() -> list[SourceProvider]:
    """The sources a merchant can connect with Add Store, in display order."""
    return [provider for provider in source_providers().values() if provider.connectable]


def source_provider(key: str) -> SourceProvider:
    try:
        return source_providers()[key]
    except KeyError:
        raise UnknownSourceProvider(f"no source provider for {key!r}") from None


def source_adapters() -> dict[str, type[SourceAdapter]]:
    """Every configured API adapter class by provider key."""
    return {
        key: provider.adapter_class
        for key, provider in source_providers().items()
        if provider.adapter_class is not None
    }


def adapter_class(provider: str) -> type[SourceAdapter]:
    try:
        return source_adapters()[provider]
    except KeyError:
        raise UnknownSourceProvider(f"no source adapter for {provider!r}") from None


@sensitive_variables()
def adapter_for(
    provider: str,
    credentials: Mapping[str, str],
    *,
    connection_id: int | None = None,
    rate_limiter: RateLimiter | None = None,
) -> SourceAdapter:
    adapter_class(provider)  # unknown or adapter-less providers raise UnknownSourceProvider
    return source_provider(provider).adapter(
        credentials, connection_id=connection_id, rate_limiter=rate_limiter
    )


def check_source_providers(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    paths = tuple(getattr(settings, "UNIFY_SOURCE_PROVIDERS", ()))
    if not paths:
        errors.append(checks.Error("UNIFY_SOURCE_PROVIDERS is empty.", id="connections.E001"))
        return errors
    try:
        _load.cache_clear()
        _load(paths)
    except (ImportError, TypeError, ValueError) as exc:
        errors.append(
            checks.Error(
                f"UNIFY_SOURCE_PROVIDERS cannot be loaded: {exc}",
                hint="Each entry is the dotted path of a SourceProvider subclass.",
                id="connections.E002",
            )
        )
    return errors
