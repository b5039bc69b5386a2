"""The order sources as the Sales pages name them: by their providers' names from the source
registry (``connections.sources.registry``), never a name written into shared code."""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import gettext


def source_name(key: str) -> str:
    """The name people know the source ``key`` (``Order.source``) by."""
    from connections.sources.registry import UnknownSourceProvider, source_provider

    try:
        return str(source_provider(key).name)
    except UnknownSourceProvider:
        return key


def connectable_source_names() -> str:
    """The sources a merchant can connect (Add Store), by name."""
    from connections.sources.registry import connectable_providers

    return ", ".join(str(provider.name) for provider in connectable_providers())


def reimportable(key: str) -> bool:
    """Whether orders of the source ``key`` can be read again (it has an API adapter)."""
    from connections.sources.registry import UnknownSourceProvider, source_provider

    try:
        return source_provider(key).adapter_class is not None
    except UnknownSourceProvider:
        return False


def reimport_source_names() -> str:
    """The sources orders can be re-imported from (those read through an API), by name."""
    from connections.sources.registry import source_providers

    return ", ".join(
        str(provider.name)
        for provider in source_providers().values()
        if provider.adapter_class is not None
    )


def _reimport_label() -> str:
    return gettext("Re-import from %(source)s") % {"source": reimport_source_names()}


def _reimported_label() -> str:
    return gettext("Re-imported from %(source)s") % {"source": reimport_source_names()}


# Labels read when shown (in the reader's language, with the registry as it is then).
reimport_label = lazy(_reimport_label, str)
reimported_label = lazy(_reimported_label, str)
