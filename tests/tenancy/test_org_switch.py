"""A user in several organizations switches between them; outsiders get 404, anonymous
visitors the sign-in page."""

from __future__ import annotations

import re

import pytest

from tests.factories import MembershipFactory
from unify.tenancy.models import Role
from unify.tenancy.scoping import current_org_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_org_user(owner_of_a, org_b):
    MembershipFactory(organization=org_b, user=owner_of_a.user, role=Role.MEMBER)
    return owner_of_a.user


def _switcher_links(html: str) -> list[tuple[str, bool]]:
    menu = html[html.index('aria-labelledby="org-switcher"') :]
    menu = menu[: menu.index("</ul>")]
    return [
        (href, "active" in cls)
        for cls, href in re.findall(r'<a class="dropdown-item([^"]*)" href="(/o/[^"]+)"', menu)
    ]


def test_switcher_lists_every_organization_and_marks_the_current_one(client, two_org_user):
    client.force_login(two_org_user)
    html = client.get("/o/acme/").content.decode()
    assert _switcher_links(html) == [("/o/acme/", True), ("/o/bolt/", False)]
    html = client.get("/o/bolt/").content.decode()
    assert _switcher_links(html) == [("/o/acme/", False), ("/o/bolt/", True)]
    assert "Bolt Bikes" in html[html.index('id="org-switcher"') :][:200]


def test_home_returns_to_the_last_organization_visited(client, two_org_user):
    client.force_login(two_org_user)
    client.get("/o/bolt/")
    assert client.session["last_org"] == "bolt"
    assert client.get("/")["Location"] == "/o/bolt/"
    client.get("/o/acme/settings/members/")
    assert client.session["last_org"] == "acme"
    assert client.get("/")["Location"] == "/o/acme/"


def test_last_org_of_a_left_organization_is_ignored(client, two_org_user, org_b):
    client.force_login(two_org_user)
    client.get("/o/bolt/")
    two_org_user.memberships.filter(organization=org_b).delete()
    assert client.get("/")["Location"] == "/o/acme/"
    assert client.get("/o/bolt/").status_code == 404


def test_user_without_organization_is_sent_to_create_one(client, owner_of_a):
    owner_of_a.delete()
    client.force_login(owner_of_a.user)
    assert client.get("/")["Location"] == "/organizations/new/"
    response = client.post("/organizations/new/", {"name": "Fresh Start"})
    assert response["Location"] == "/o/fresh-start/"
    assert client.get("/o/fresh-start/").status_code == 200


def test_outsider_gets_404_for_existing_and_unknown_organizations(client, owner_of_a, org_b):
    client.force_login(owner_of_a.user)
    assert client.get("/o/bolt/").status_code == 404
    assert client.get("/o/bolt/settings/members/").status_code == 404
    assert client.get("/o/no-such-org/").status_code == 404
    assert current_org_id() is None


def test_anonymous_visitor_is_sent_to_sign_in(client, org_a):
    response = client.get("/o/acme/settings/members/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/o/acme/settings/members/"
    # Same answer for an organization that does not exist: nothing to learn from it.
    response = client.get("/o/no-such-org/")
    assert response["Location"] == "/accounts/login/?next=/o/no-such-org/"
