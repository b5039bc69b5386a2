"""Error pages look like the rest of the site (navigation, user menu, a way back) and say
what happened: 403 for a role that does not allow the page, 404, and a form whose CSRF
check failed (an expired page), which used to be Django's bare page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", content.decode()).split())


def styled(page: str) -> bool:
    return (
        '<link rel="stylesheet" href="/static/css/unify.css' in page
        and 'aria-label="Main navigation"' in page
        and 'data-testid="error-page"' in page
    )


def test_a_page_the_role_does_not_allow_is_a_styled_403_that_says_why(client, org_a, member_of_a):
    client.force_login(member_of_a.user)
    response = client.get(f"/o/{org_a.slug}/settings/")  # admins only
    assert response.status_code == 403
    page = response.content.decode()
    assert styled(page)
    text = text_of(response.content)
    assert "You cannot do this here" in text
    assert "Your role in Acme Outdoor is Member, which does not include this." in text
    assert f'href="/o/{org_a.slug}/"' in page and "Back to Acme Outdoor" in text
    assert 'id="user-menu"' in page  # still signed in, still navigable


def test_an_unknown_page_is_a_styled_404(client, settings, org_a, member_of_a, org_b):
    settings.DEBUG = False
    client.force_login(member_of_a.user)
    for url in ("/no-such-page/", f"/o/{org_b.slug}/sales/"):  # another organization's: 404
        response = client.get(url)
        assert response.status_code == 404
        page = response.content.decode()
        assert styled(page), url
        assert "This page does not exist" in text_of(response.content)
        assert "Bolt Bikes" not in page


def test_a_form_that_fails_the_csrf_check_gets_a_styled_page_and_changes_nothing(org_a, owner_of_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_of_a.user)
    response = client.post(f"/o/{org_a.slug}/settings/", {"name": "Renamed", "timezone": "UTC"})
    assert response.status_code == 403
    page = response.content.decode()
    assert styled(page)
    text = text_of(response.content)
    assert "This form could not be sent" in text
    assert "Go back, reload the page and try again." in text
    assert "CSRF verification failed" not in text
    org_a.refresh_from_db()
    assert org_a.name == "Acme Outdoor"
