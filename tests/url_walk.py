"""Walks the URL resolver: every pattern with its full route, name and view. Shared by the
isolation walker and the page checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RoutePattern

_KWARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # "o/<slug:org_slug>/settings/members/<int:membership_id>/role/"
    label: str  # "tenancy:member_role_change" (or the route when unnamed)
    callback: object
    is_route_pattern: bool

    @property
    def kwargs(self) -> list[str]:
        return [m.group("name") for m in _KWARG.finditer(self.route)]

    def build(self, values: dict[str, object]) -> str:
        return "/" + _KWARG.sub(lambda m: str(values[m.group("name")]), self.route)


def walk_urls(
    resolver: URLResolver, prefix: str = "", namespace: str = "", route_only: bool = True
) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        is_route = isinstance(entry.pattern, RoutePattern)
        piece = str(entry.pattern)
        if not is_route:
            piece = piece.lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from walk_urls(entry, prefix + piece, ns, route_only and is_route)
        elif isinstance(entry, URLPattern):
            full = prefix + piece
            label = f"{namespace}{entry.name}" if entry.name else full
            yield Route(full, label, entry.callback, route_only and is_route)
