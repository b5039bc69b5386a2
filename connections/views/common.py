"""Helpers the Connections tab's views share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from connections import services
from connections.sources.provider import SourceProvider
from connections.sources.registry import connectable_providers, source_providers


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"connections:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def _put_error(form, exc: services.ConnectionRefused) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.user_message)


def _sources(keys: Iterable[str] | None = None) -> list[SourceProvider]:
    """The sources of the provider keys ``keys`` (each once, in the registry's order; unknown
    keys are left out), or, without keys, the sources Add Store offers."""
    if keys is None:
        return connectable_providers()
    wanted = set(keys)
    return [provider for key, provider in source_providers().items() if key in wanted]


def _source_names(keys: Iterable[str] | None = None) -> str:
    """The names of :func:`_sources` for a sentence ("ShipStation", "A, B"); the sources Add
    Store offers when ``keys`` names none."""
    sources = _sources(keys)
    if not sources:
        sources = connectable_providers()
    return ", ".join(str(provider.name) for provider in sources)
