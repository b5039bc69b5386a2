"""Source adapters, listed in ``settings.UNIFY_SOURCE_ADAPTERS`` (dotted paths) and keyed by
their ``key`` (the value stored in ``StoreConnection.provider``).

A system check (registered in ``ConnectionsConfig.ready``) imports every listed adapter at
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
from unify.core.http import RateLimiter


class UnknownSourceProvider(LookupError):
    pass


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> dict[str, type[SourceAdapter]]:
    adapters: dict[str, type[SourceAdapter]] = {}
    for path in paths:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, SourceAdapter)):
            raise TypeError(f"{path} is not a SourceAdapter subclass")
        if cls.key in adapters:
            raise ValueError(f"two source adapters use the key {cls.key!r}")
        adapters[cls.key] = cls
    return adapters


def source_adapters() -> dict[str, type[SourceAdapter]]:
    """Every configured adapter class by provider key (read from settings at call time)."""
    return dict(_load(tuple(settings.UNIFY_SOURCE_ADAPTERS)))


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
    return adapter_class(provider).from_credentials(
        credentials, connection_id=connection_id, rate_limiter=rate_limiter
    )


def check_source_adapters(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    paths = tuple(getattr(settings, "UNIFY_SOURCE_ADAPTERS", ()))
    if not paths:
        errors.append(checks.Error("UNIFY_SOURCE_ADAPTERS is empty.", id="connections.E001"))
        return errors
    try:
        _load.cache_clear()
        _load(paths)
    except (ImportError, TypeError, ValueError) as exc:
        errors.append(
            checks.Error(
                f"UNIFY_SOURCE_ADAPTERS cannot be loaded: {exc}",
                hint="Each entry is the dotted path of a SourceAdapter subclass.",
                id="connections.E002",
            )
        )
    return errors
