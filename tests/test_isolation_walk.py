"""Walks EVERY URL pattern of the project and proves tenant isolation for each one.

- Every pattern outside ``/o/<org_slug>/`` must start with a prefix in ``PUBLIC_PREFIXES``
  (so a tenant page cannot be added outside ``/o/`` by accident). Add a public prefix (a
  webhook receiver, say) to the tuple below, with a reason.
- Every pattern under ``/o/<org_slug>/`` is requested (GET and POST) by an owner of
  organization A:
  (a) with organization B's slug: 404;
  (b) with A's slug and every other URL keyword pointing at an object of B (made by
      ``tests/isolation_registry.OBJECT_MAKERS``): 404, and no row of B changed.
  A keyword missing from the registry fails the test with what to add; keywords that name
  no tenant object (a provider key, say) go in ``PLAIN_VALUES`` and only get check (a).
  A method the view does not take may answer 405; the one it takes must answer 404.
- Every tenant view is decorated with ``require_role``.

The patterns are read from the URL resolver when the tests are collected, so new URLs are
walked without touching this file.
"""

from __future__ import annotations

import hashlib

import pytest
from django.apps import apps
from django.urls import NoReverseMatch, get_resolver, reverse

from tests import isolation_registry
from tests.security.support import reauthenticate
from tests.url_walk import Route, walk_urls
from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Membership, Organization, OrgOwnedModel

pytestmark = pytest.mark.django_db

TENANT_PREFIX = "o/<slug:org_slug>/"

# Routes outside /o/<org_slug>/ that are public or per-user, never per-organization.
PUBLIC_PREFIXES: tuple[str, ...] = (
    "healthz",
    "admin/",  # support staff only (is_staff), audited
    "support/",  # the support console: staff with a second factor only (404 otherwise), audited
    "accounts/",  # allauth: sign-in, sign-up, email, password, MFA
    "organizations/new/",
    "invitations/",  # the token in the URL is the credential
    "ledgers/",  # OAuth callbacks: state checked against the session, then membership + role
    "webhooks/",  # provider callbacks: a per-connection secret token in the path
    "qbwc/",  # QuickBooks Web Connector SOAP: user name + password, then a session ticket
    "i18n/",  # the footer's language switcher: a cookie and the signed-in person's own profile
)
# Exact routes (the home page redirects to the user's last organization).
PUBLIC_EXACT: tuple[str, ...] = ("",)

# A plausible form body for any POST: if a view acted on it for another organization's
# object, the snapshot comparison below would see the change.
POST_BODY = {
    "role": "owner",
    "name": "Changed by another organization",
    "email": "intruder@acme.example",
    "confirm_slug": "bolt",
    "timezone": "UTC",
    "status": "disabled",
    "action": "delete",
}

ALL_ROUTES = list(walk_urls(get_resolver()))
TENANT_ROUTES = [r for r in ALL_ROUTES if r.route.startswith(TENANT_PREFIX)]
OTHER_ROUTES = [r for r in ALL_ROUTES if not r.route.startswith(TENANT_PREFIX)]


def _ids(routes: list[Route]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for r in routes:
        n = seen.get(r.label, 0)
        seen[r.label] = n + 1
        ids.append(r.label if n == 0 else f"{r.label}#{n + 1}")
    return ids


def _object_kwargs(route: Route) -> list[str]:
    return [k for k in route.kwargs if k != "org_slug" and k not in isolation_registry.PLAIN_VALUES]


def _values_for(route: Route, org_b: Organization) -> dict[str, object]:
    """Organization B's objects (and plain values) for every keyword but org_slug."""
    missing = [
        k
        for k in route.kwargs
        if k != "org_slug"
        and k not in isolation_registry.OBJECT_MAKERS
        and k not in isolation_registry.PLAIN_VALUES
    ]
    if missing:
        pytest.fail(
            f"URL {route.label} ({route.route}) has keyword(s) {missing} that "
            "tests/isolation_registry.py does not know. Add a maker to OBJECT_MAKERS that "
            "creates an object of organization B and returns the value for the URL (or, for a "
            "keyword that names no tenant object, a function in PLAIN_VALUES)."
        )
    values: dict[str, object] = {}
    for name in route.kwargs:
        if name == "org_slug":
            continue
        registry = (
            isolation_registry.PLAIN_VALUES
            if name in isolation_registry.PLAIN_VALUES
            else isolation_registry.OBJECT_MAKERS
        )
        values[name] = registry[name](org_b)
    return values


def _digest(rows) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row).encode())
    return h.hexdigest()


def _snapshot_of(org: Organization) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every column of every row organization ``org`` owns."""
    models = [m for m in apps.get_models() if issubclass(m, OrgOwnedModel) and not m._meta.abstract]
    snapshot: dict[str, tuple[int, str]] = {}
    for model in models:
        qs = model._base_manager.filter(organization=org).order_by("pk")
        rows = [
            tuple(getattr(obj, f.attname) for f in model._meta.concrete_fields)
            for obj in qs.iterator()
        ]
        # Encrypted columns come back as Secret objects; compare what they hold.
        rows = [tuple(v.reveal() if hasattr(v, "reveal") else v for v in row) for row in rows]
        snapshot[model._meta.label] = (len(rows), _digest(rows))
    for model, qs in [
        (Organization, Organization.objects.filter(pk=org.pk)),
        (Membership, Membership.objects.filter(organization=org)),
        (Invitation, Invitation.objects.filter(organization=org)),
        (AuditEvent, AuditEvent.objects.filter(organization=org)),
    ]:
        rows = list(qs.order_by("pk").values_list())
        snapshot[model._meta.label] = (len(rows), _digest(rows))
    return snapshot


def _require_role_of(callback) -> str | None:
    role = getattr(callback, "required_role", None)
    if role is None:
        role = getattr(getattr(callback, "view_class", None), "required_role", None)
    return role


# --- outside /o/ --------------------------------------------------------------------------


@pytest.mark.parametrize("route", OTHER_ROUTES, ids=_ids(OTHER_ROUTES))
def test_url_outside_tenant_prefix_is_an_allowed_public_route(route: Route):
    allowed = route.route in PUBLIC_EXACT or route.route.startswith(PUBLIC_PREFIXES)
    assert allowed, (
        f"URL {route.label} ({route.route!r}) lives outside /o/<org_slug>/ and outside the "
        "public prefixes of tests/test_isolation_walk.py. Tenant pages belong under "
        "o/<slug:org_slug>/ in unify/urls.py, where the organization middleware checks "
        "membership. If it really is public (e.g. a webhook receiver), add its prefix to "
        "PUBLIC_PREFIXES with a comment saying why."
    )


def test_walker_finds_the_tenant_routes():
    labels = {r.label for r in TENANT_ROUTES}
    # The walker must see the foundation's own tenant pages, or it is walking nothing.
    assert {"tenancy:dashboard", "tenancy:member_remove", "tenancy:settings_members"} <= labels
    assert {r.label for r in OTHER_ROUTES} >= {"home", "healthz", "invitation_accept"}


# --- under /o/<org_slug>/ ------------------------------------------------------------------


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=_ids(TENANT_ROUTES))
def test_tenant_view_requires_a_role(route: Route):
    assert _require_role_of(route.callback) is not None, (
        f"View of {route.label} ({route.route}) is not decorated with "
        "unify.tenancy.decorators.require_role(...). Every view under /o/<org_slug>/ declares "
        "the least role that may use it."
    )


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=_ids(TENANT_ROUTES))
def test_tenant_url_with_other_organizations_slug_is_404(
    route: Route, client, owner_of_a, org_b, owner_of_b
):
    values = _values_for(route, org_b)
    values["org_slug"] = org_b.slug
    url = route.build(values) if route.is_route_pattern else None
    assert url, f"{route.label}: tenant URLs must use path(), not re_path()"
    client.force_login(owner_of_a.user)
    before = _snapshot_of(org_b)

    get = client.get(url)
    post = client.post(url, POST_BODY)

    assert (get.status_code, post.status_code) == (404, 404), (
        f"{url} answered GET {get.status_code} / POST {post.status_code} to a member of "
        "another organization"
    )
    assert _snapshot_of(org_b) == before, f"POST {url} changed organization B's data"


_OBJECT_ROUTES = [r for r in TENANT_ROUTES if _object_kwargs(r)]


def _confirm_password(client) -> None:
    try:
        reverse("account_reauthenticate")
    except NoReverseMatch:
        return  # a test URLconf without the account pages
    reauthenticate(client)


@pytest.mark.parametrize("route", _OBJECT_ROUTES, ids=_ids(_OBJECT_ROUTES))
def test_tenant_url_with_other_organizations_object_is_404_and_changes_nothing(
    route: Route, client, owner_of_a, org_b, owner_of_b
):
    values = _values_for(route, org_b)
    values["org_slug"] = owner_of_a.organization.slug
    url = route.build(values)
    client.force_login(owner_of_a.user)
    # A confirmed session (password given again), so views behind the re-check are reached.
    _confirm_password(client)
    before = _snapshot_of(org_b)

    get = client.get(url)
    post = client.post(url, POST_BODY)

    # 405 is fine for the method a view does not take (a POST-only view refuses GET before it
    # looks at the object, so the answer says nothing about B's data); the method it does
    # take must find nothing: 404.
    statuses = {"GET": get.status_code, "POST": post.status_code}
    assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), (
        f"{url} with organization B's {_object_kwargs(route)} answered {statuses} to an owner "
        "of organization A (expected 404)"
    )
    assert _snapshot_of(org_b) == before, f"POST {url} changed organization B's data"


# --- the support console: 404 for everyone but staff ---------------------------------------

SUPPORT_ROUTES = [r for r in OTHER_ROUTES if r.route.startswith("support/")]


def _support_url(route: Route, org_b: Organization) -> str:
    values = {
        name: isolation_registry.SUPPORT_VALUES[name](org_b) for name in route.kwargs
    }  # a keyword missing from SUPPORT_VALUES fails here (KeyError): add it there
    return route.build(values)


def test_walker_finds_the_support_routes():
    assert {r.label for r in SUPPORT_ROUTES} >= {"support:home", "support:organization"}


@pytest.mark.parametrize("route", SUPPORT_ROUTES, ids=_ids(SUPPORT_ROUTES))
def test_support_url_is_404_for_everyone_but_staff(route: Route, client, owner_of_a, org_b):
    assert getattr(route.callback, "support_staff_required", False), (
        f"View of {route.label} is not decorated with unify.support.access.support_staff_required"
    )
    url = _support_url(route, org_b)
    before = _snapshot_of(org_b)
    anonymous = (client.get(url).status_code, client.post(url, POST_BODY).status_code)
    # A signed-in member (owner of another organization) who is not staff: still 404.
    client.force_login(owner_of_a.user)
    _confirm_password(client)
    member = (client.get(url).status_code, client.post(url, POST_BODY).status_code)
    assert (anonymous, member) == ((404, 404), (404, 404)), (
        f"{url} answered anonymous {anonymous} / non-staff member {member} (expected 404)"
    )
    assert _snapshot_of(org_b) == before, f"POST {url} changed organization B's data"


# --- the walker itself catches leaks ------------------------------------------------------


def test_walker_fails_for_a_view_that_reads_and_deletes_another_organizations_row(
    settings, client, owner_of_a, org_b, owner_of_b
):
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "tests.isolation_leaky_urls"
    clear_url_caches()
    (leaky,) = [r for r in walk_urls(get_resolver()) if r.route.startswith(TENANT_PREFIX)]
    assert leaky.label == "leak"
    with pytest.raises(AssertionError) as caught:
        test_tenant_url_with_other_organizations_object_is_404_and_changes_nothing(
            leaky, client, owner_of_a, org_b, owner_of_b
        )
    assert "answered {'GET': 200, 'POST': 200} to an owner" in str(caught.value)


def test_walker_fails_for_a_tenant_page_outside_the_tenant_prefix(settings):
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "tests.isolation_leaky_urls"
    clear_url_caches()
    (outside,) = [r for r in walk_urls(get_resolver()) if not r.route.startswith(TENANT_PREFIX)]
    with pytest.raises(AssertionError, match="lives outside /o/<org_slug>/"):
        test_url_outside_tenant_prefix_is_an_allowed_public_route(outside)


def test_walker_fails_for_an_unregistered_url_keyword(org_b):
    route = Route("o/<slug:org_slug>/things/<int:thing_id>/", "things:detail", None, True)
    with pytest.raises(pytest.fail.Exception, match=r"keyword\(s\) \['thing_id'\]"):
        _values_for(route, org_b)


def test_snapshot_sees_a_changed_deleted_or_added_row_of_the_organization(org_b, owner_of_b):
    from connections.models import StoreConnection

    before = _snapshot_of(org_b)
    Membership.objects.filter(pk=owner_of_b.pk).update(role="member")  # no updated_at bump
    changed = _snapshot_of(org_b)
    assert changed != before
    StoreConnection.all_orgs.create(organization=org_b, name="New")
    assert _snapshot_of(org_b) != changed
