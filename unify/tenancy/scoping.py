"""Fail-closed organization scoping.

Tenant-owned models use :class:`OrgScopedManager` as ``objects``: outside an
:func:`org_scope` it raises instead of returning every tenant's rows. The loudly named
``all_orgs`` manager is for the admin, migrations and framework internals only; the uses
outside those are listed in ``tests/tenancy/all_orgs_allowlist.txt`` and may only shrink.

Named ways in: a task body runs inside :func:`with_org_scope` (its ``organization_id``
keyword), and ``Model.objects.for_org(org)`` reads the rows of one organization a caller was
handed, in its scope or outside any scope, never inside another organization's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db import models

from unify.core.exceptions import TenantScopeError

P = ParamSpec("P")
R = TypeVar("R")

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


def with_org_scope(task: Callable[P, R]) -> Callable[P, R]:
    """Run a task's body inside ``org_scope(organization_id)``, the id being the task's
    ``organization_id`` keyword argument (tasks take ids, never rows). Put it under
    ``@shared_task`` so the task keeps its name and signature."""

    @functools.wraps(task)
    def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        organization_id = kwargs.get("organization_id")
        if organization_id is None:
            raise TenantScopeError(f"{task.__qualname__} needs an organization_id keyword")
        with org_scope(organization_id):
            return task(*args, **kwargs)

    # Celery checks a call's arguments against the task's own signature, not ``scoped``'s.
    scoped.__signature__ = inspect.signature(task)  # type: ignore[attr-defined]
    return scoped


def set_org_scope(organization_id: int):
    """Enter a scope without a ``with`` block (middleware); pass the token to reset it."""
    return _current_org_id.set(int(organization_id))


def reset_org_scope(token) -> None:
    _current_org_id.reset(token)


def check_row_organization(obj: models.Model) -> None:
    """Inside a scope, a tenant row may only be written for the scope's organization; a row
    without one gets it. Outside any scope (admin, migrations) nothing is checked."""
    org_id = current_org_id()
    if org_id is None:
        return
    if obj.organization_id is None:
        obj.organization_id = org_id
    elif int(obj.organization_id) != org_id:
        raise TenantScopeError(
            f"writing a {obj._meta.label} row of organization {obj.organization_id} "
            f"inside the scope of organization {org_id}"
        )


def _check_given_organization(kwargs: dict, org_id: int) -> None:
    organization = kwargs.get("organization")
    given = kwargs.get("organization_id", getattr(organization, "pk", None))
    if given is not None and int(given) != org_id:
        raise TenantScopeError("writing a row for another organization than the scope's")


class OrgScopedQuerySet(models.QuerySet):
    """Every write path of the scoped manager stays inside the scope's organization:
    ``create``, ``get_or_create``/``update_or_create`` (they call ``create``), ``bulk_create``
    and ``update`` cannot put a row into, or move one to, another organization."""

    def create(self, **kwargs):
        org_id = require_org_id()
        _check_given_organization(kwargs, org_id)
        if "organization" not in kwargs and "organization_id" not in kwargs:
            kwargs["organization_id"] = org_id
        return super().create(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        require_org_id()
        objs = list(objs)
        for obj in objs:
            check_row_organization(obj)
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        org_id = require_org_id()
        _check_given_organization(kwargs, org_id)
        return super().update(**kwargs)


class OrgScopedManager(models.Manager.from_queryset(OrgScopedQuerySet)):
    def get_queryset(self) -> models.QuerySet:
        org_id = require_org_id()
        return super().get_queryset().filter(organization_id=org_id)

    def for_org(self, organization: Any) -> models.QuerySet:
        """The rows of ``organization`` (a row or an id): inside its own scope the same as
        ``objects``, outside any scope the named way to read one organization's rows, and
        inside another organization's scope an error. Writes through it still need a scope."""
        org_id = int(getattr(organization, "pk", organization))
        current = current_org_id()
        if current is not None and current != org_id:
            raise TenantScopeError(
                f"reading organization {org_id}'s rows inside the scope of organization {current}"
            )
        return super().get_queryset().filter(organization_id=org_id)
