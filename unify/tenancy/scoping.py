"""Fail-closed organization scoping.

Tenant-owned models use :class:`OrgScopedManager` as ``objects``: outside an
:func:`org_scope` it raises instead of returning every tenant's rows. The loudly named
``all_orgs`` manager is for the admin, migrations and framework internals only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

from unify.core.exceptions import TenantScopeError

_current_org_id: ContextVar[int | None] = ContextVar("unify_org_id", default=None)


def current_org_id() -> int | None:
    return _current_org_id.get()


def require_org_id() -> int:
    org_id = _current_org_id.get()
    if org_id is None:
        raise TenantScopeError("tenant-owned data used outside org_scope()")
    return org_id


@contextmanager
def org_scope(organization_id: int) -> Iterator[None]:
    if not organization_id:
        raise TenantScopeError("org_scope() needs an organization id")
    token = _current_org_id.set(int(organization_id))
    try:
        yield
    finally:
        _current_org_id.reset(token)


def set_org_scope(organization_id: int):
    """Enter a scope without a ``with`` block (middleware); pass the token to reset it."""
    return _current_org_id.set(int(organization_id))


def reset_org_scope(token) -> None:
    _current_org_id.reset(token)


class OrgScopedQuerySet(models.QuerySet):
    pass


class OrgScopedManager(models.Manager.from_queryset(OrgScopedQuerySet)):
    def get_queryset(self) -> models.QuerySet:
        org_id = require_org_id()
        return super().get_queryset().filter(organization_id=org_id)

    def create(self, **kwargs):
        org_id = require_org_id()
        organization = kwargs.get("organization")
        given = kwargs.get("organization_id", getattr(organization, "pk", None))
        if given is not None and int(given) != org_id:
            raise TenantScopeError("creating a row for another organization than the scope's")
        if given is None:
            kwargs["organization_id"] = org_id
        return super().create(**kwargs)
