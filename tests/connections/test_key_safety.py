"""ShipStation keys with characters Basic auth cannot carry are refused in the form (nothing
sent, nothing saved), and no error page or error report ever shows a key or secret, in DEBUG
or not."""

from __future__ import annotations

import base64
import logging

import pytest
import requests.auth
from django.test import Client
from django.urls import reverse
from django.views.debug import get_exception_reporter_class

from connections import services
from connections.models import SourceStore, StoreConnection
from tests.connections.conftest import SS_KEY, SS_KEY_2, SS_SECRET, SS_SECRET_2
from tests.security.support import reauthenticate
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

MESSAGE = "API keys contain only letters, digits and dashes; check what you pasted."

# Cyrillic, a euro sign (not Latin-1: requests cannot encode it), an accented Latin-1 letter
# (it could be sent, but no ShipStation key has one), a space in the middle and a tab.
BAD_KEYS = [
    ("ключ-3f9a7c21", SS_SECRET, "api_key"),
    (SS_KEY, "secret-€-b9f3", "api_secret"),
    ("test-ss-kéy-7c21d0e4", SS_SECRET, "api_key"),
    (SS_KEY, "test ss secret", "api_secret"),
    ("test-ss-key\t7c21", SS_SECRET, "api_key"),
]


def url(org, name, **kwargs):
    return reverse(f"connections:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _field_errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def _connected(org, owner, *, disconnect: bool = False) -> StoreConnection:
    with org_scope(org.pk):  # as the connection pages call them
        connection = services.connection_create(
            organization=org,
            actor=owner.user,
            provider="shipstation",
            credentials={"api_key": SS_KEY, "api_secret": SS_SECRET},
            name="Main",
        )
        if disconnect:
            services.connection_disconnect(connection=connection, actor=owner.user)
    connection.refresh_from_db()
    return connection


@pytest.mark.parametrize(("key", "secret", "field"), BAD_KEYS)
def test_connect_with_non_latin_or_spaced_keys_is_a_form_error_and_sends_nothing(
    owner_client, org_a, ss, key, secret, field
):
    response = owner_client.post(
        url(org_a, "add_shipstation"),
        {"api_key": key, "api_secret": secret, "name": "Main", "mode": "sales_channel"},
    )

    assert response.status_code == 200
    assert _field_errors(response, field) == [MESSAGE]
    html = response.content.decode()
    assert MESSAGE.replace("'", "&#x27;") in html
    # Nothing pasted is shown back (the fields never echo their value).
    assert key not in html and secret not in html
    assert ss.requests_log() == []
    assert not StoreConnection.all_orgs.filter(organization=org_a).exists()
    assert not SourceStore.all_orgs.filter(organization=org_a).exists()
    assert not AuditEvent.objects.filter(organization=org_a, action__startswith="connection.")


@pytest.mark.parametrize("view", ["update_keys", "reconnect"])
@pytest.mark.parametrize(("key", "secret", "field"), BAD_KEYS[:2])
def test_new_keys_with_non_latin_characters_are_refused_and_the_old_ones_stay(
    owner_client, owner_of_a, org_a, ss, view, key, secret, field
):
    connection = _connected(org_a, owner_of_a, disconnect=view == "reconnect")
    ss.clear_requests_log()
    before = (connection.status, connection.updated_at, connection.credentials_fingerprint)
    reauthenticate(owner_client)  # new keys need the password again

    response = owner_client.post(
        url(org_a, view, connection_id=connection.pk), {"api_key": key, "api_secret": secret}
    )

    assert response.status_code == 200
    assert _field_errors(response, field) == [MESSAGE]
    assert ss.requests_log() == []
    connection.refresh_from_db()
    assert (connection.status, connection.updated_at, connection.credentials_fingerprint) == (
        before
    )


def test_the_service_refuses_such_keys_too_before_sending_anything(owner_of_a, org_a, ss):
    with pytest.raises(services.ConnectionRefused) as refused:
        services.connection_create(
            organization=org_a,
            actor=owner_of_a.user,
            provider="shipstation",
            credentials={"api_key": "ключ", "api_secret": SS_SECRET},
        )
    assert (refused.value.code, refused.value.field, refused.value.user_message) == (
        "characters",
        "api_key",
        MESSAGE,
    )
    assert ss.requests_log() == []
    assert not StoreConnection.all_orgs.filter(organization=org_a).exists()


# --- error pages and error reports ------------------------------------------------------------


@pytest.fixture
def crash_in_basic_auth(monkeypatch):
    """Call to make the HTTP library crash at the moment it holds the key and secret (where
    the UnicodeEncodeError of a non-Latin key used to happen)."""
    original = requests.auth._basic_auth_str

    def crashing(username, password):
        header = original(username, password)
        raise RuntimeError(f"crash in the HTTP library after building {len(header)} bytes")

    return lambda: monkeypatch.setattr(requests.auth, "_basic_auth_str", crashing)


def _secrets_in(text: str, *pairs: tuple[str, str]) -> list[str]:
    found = []
    for key, secret in pairs:
        header = base64.b64encode(f"{key}:{secret}".encode()).decode()
        found += [value for value in (key, secret, header) if value in text]
    return found


VIEWS = ["add_shipstation", "update_keys", "reconnect"]


def _post_new_keys(owner, org, ss, view, *, debug: bool, crash) -> object:
    """Post the second pair of the same account to ``view`` with the HTTP library crashing,
    through a client that gets the 500 response instead of the exception."""
    ss.add_account(SS_KEY_2, SS_SECRET_2, seed=7, stores=3)
    if view == "add_shipstation":
        target = url(org, view)
        body = {"api_key": SS_KEY_2, "api_secret": SS_SECRET_2, "mode": "sales_channel"}
    else:
        connection = _connected(org, owner, disconnect=view == "reconnect")
        target = url(org, view, connection_id=connection.pk)
        body = {"api_key": SS_KEY_2, "api_secret": SS_SECRET_2}
    crash()
    from django.conf import settings

    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    client.force_login(owner.user)
    reauthenticate(client)  # new keys need the password again
    return client.post(target, body)


@pytest.mark.parametrize("view", VIEWS)
def test_debug_error_page_of_the_key_views_never_shows_the_keys(
    owner_of_a, org_a, ss, settings, crash_in_basic_auth, view
):
    response = _post_new_keys(owner_of_a, org_a, ss, view, debug=True, crash=crash_in_basic_auth)

    assert response.status_code == 500
    page = response.content.decode()
    # Django's technical page (what `make run` shows), with the traceback and variables...
    assert "RuntimeError" in page and "crash in the HTTP library" in page
    assert "Local vars" in page and "_basic_auth_str" in page
    # ...and neither the new pair nor the stored one appears anywhere on it.
    assert _secrets_in(page, (SS_KEY_2, SS_SECRET_2), (SS_KEY, SS_SECRET)) == []
    assert "api_secret" in page  # the POST table lists the field, its value starred


@pytest.mark.parametrize("view", VIEWS)
def test_error_report_of_the_key_views_never_shows_the_keys(
    owner_of_a, org_a, ss, settings, caplog, crash_in_basic_auth, view
):
    """Production (DEBUG off): the report the admins' e-mail handler builds."""
    caplog.set_level(logging.ERROR, logger="django.request")

    response = _post_new_keys(owner_of_a, org_a, ss, view, debug=False, crash=crash_in_basic_auth)

    assert response.status_code == 500
    assert _secrets_in(response.content.decode(), (SS_KEY_2, SS_SECRET_2)) == []
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = get_exception_reporter_class(record.request)(
        record.request, *record.exc_info, is_email=True
    )
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    assert "crash in the HTTP library" in text and "_basic_auth_str" in text
    assert _secrets_in(text, (SS_KEY_2, SS_SECRET_2), (SS_KEY, SS_SECRET)) == []
    assert _secrets_in(html, (SS_KEY_2, SS_SECRET_2), (SS_KEY, SS_SECRET)) == []
