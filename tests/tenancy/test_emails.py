"""Every email Unify sends names Unify and links absolutely to the configured site address
(``UNIFY_SITE_URL``), never to the host a request happened to come to, and never with a bare
path a mail client cannot open. Each email is triggered the way the app sends it, and its
link is followed."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from connections.models import ConnectionStatus
from tests.factories import MembershipFactory, StoreConnectionFactory
from tests.notifications.delivery import deliver_notification_emails
from tests.security.support import reauthenticate
from tests.tenancy.conftest import PASSWORD
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

SITE = "https://unify.example.test"
LINK = re.compile(r"https?://[^\s<>\"']+")
# A path of the app standing alone (not inside an absolute link).
BARE_PATH = re.compile(r"(?<![\w:/.-])/(o|accounts|invitations|ledgers)/")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.UNIFY_SITE_URL = SITE
    return SITE


def _check(message) -> list[str]:
    """The email's links (all on the site); it names Unify and no other host."""
    text = f"{message.subject}\n{message.body}"
    links = LINK.findall(message.body)
    assert links, message.body
    assert [link for link in links if not link.startswith(f"{SITE}/")] == [], message.body
    assert BARE_PATH.search(message.body) is None, message.body
    for host in ("testserver", "127.0.0.1", "localhost"):
        assert host not in text, (host, text)
    assert "Unify" in text
    return links


def _follow(client, link: str):
    response = client.get(link.removeprefix(SITE))
    assert response.status_code in (200, 302), (link, response.status_code)
    return response


def _sign_up(client, email="dana@trailsupply.example"):
    return client.post(
        "/accounts/signup/",
        {
            "organization_name": "Trail Supply Co",
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def test_signup_confirmation_names_unify_and_links_to_the_site(client):
    _sign_up(client)

    [message] = mail.outbox
    assert message.subject == "[Unify] Please Confirm Your Email Address"
    assert message.body.startswith("Hello from Unify!")
    assert "register an account on Unify." in message.body
    assert message.body.rstrip().endswith(f"Thank you for using Unify!\n{SITE}/")
    [confirm, _signature] = _check(message)
    assert confirm.startswith(f"{SITE}/accounts/confirm-email/")
    page = _follow(client, confirm)
    assert "dana@trailsupply.example" in page.content.decode()
    client.post(confirm.removeprefix(SITE))
    assert EmailAddress.objects.get(email="dana@trailsupply.example").verified


def test_signup_with_a_taken_address_mails_the_owner_with_site_links(client, owner_of_a):
    _sign_up(client, email=owner_of_a.user.email)

    [message] = mail.outbox
    assert message.to == [owner_of_a.user.email]
    links = _check(message)
    assert f"{SITE}/accounts/password/reset/" in links


def test_password_reset_mail_links_to_the_site(client, owner_of_a):
    client.post("/accounts/password/reset/", {"email": owner_of_a.user.email})

    [message] = mail.outbox
    [reset, _signature] = _check(message)
    assert reset.startswith(f"{SITE}/accounts/password/reset/key/")
    assert _follow(client, reset).status_code == 302  # the key moves into the session


def test_password_reset_for_an_unknown_address_links_to_the_site(client):
    client.post("/accounts/password/reset/", {"email": "nobody@trailsupply.example"})

    [message] = mail.outbox
    links = _check(message)
    assert f"{SITE}/accounts/signup/" in links


def test_email_change_verification_links_to_the_site(client, owner_of_a):
    EmailAddress.objects.update_or_create(
        user=owner_of_a.user,
        email=owner_of_a.user.email,
        defaults={"verified": True, "primary": True},
    )
    client.force_login(owner_of_a.user)
    client.post("/accounts/email/", {"action_add": "", "email": "robin.new@acme.test"})

    [message] = [m for m in mail.outbox if m.to == ["robin.new@acme.test"]]
    [confirm, _signature] = _check(message)
    assert confirm.startswith(f"{SITE}/accounts/confirm-email/")
    _follow(client, confirm)


def test_invitation_links_to_the_site(client, owner_of_a):
    client.force_login(owner_of_a.user)
    client.post("/o/acme/settings/members/", {"email": "sam@books.test", "role": Role.MEMBER})

    [message] = mail.outbox
    [accept] = _check(message)
    assert accept.startswith(f"{SITE}/invitations/")
    client.logout()
    _follow(client, accept)


def test_needs_new_keys_mail_links_to_the_connections_keys_page(
    client, org_a, owner_of_a, django_capture_on_commit_callbacks
):
    from sales.services import connection_needs_credentials

    member = MembershipFactory(organization=org_a, role=Role.MEMBER, user__username="also-told")
    connection = StoreConnectionFactory(organization=org_a, name="Main warehouse")
    # In the scope, as the sync calls it.
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        assert connection_needs_credentials(connection=connection, reason="HTTP 401")
    # One email per person, sent by the notification task (issue 21: every member is told,
    # each as they chose; nobody twice).
    deliver_notification_emails()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [owner_of_a.user.email, member.user.email]
    )
    [message] = [m for m in mail.outbox if m.to == [owner_of_a.user.email]]
    assert message.subject == "[Unify] ShipStation needs new API keys for Main warehouse"
    [keys] = _check(message)
    assert keys == f"{SITE}/o/acme/connections/{connection.pk}/keys/"
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    client.force_login(owner_of_a.user)
    reauthenticate(client)  # the keys page asks for the password again
    page = _follow(client, keys).content.decode()
    assert "API Key" in page


def test_reconnect_quickbooks_mail_links_to_the_accounting_tab(
    client, org_a, owner_of_a, django_capture_on_commit_callbacks
):
    from accounting.services.connections import ledger_mark_needs_reauth
    from tests.factories import LedgerConnectionFactory

    ledger = LedgerConnectionFactory(organization=org_a, company_name="Acme Books")
    # In the scope, as the posting drain calls it.
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        assert ledger_mark_needs_reauth(connection_id=ledger.pk)
    deliver_notification_emails()

    [message] = mail.outbox
    assert message.subject == "[Unify] Reconnect QuickBooks Online for Acme Outdoor"
    [accounting] = _check(message)
    assert accounting == f"{SITE}/o/acme/accounting/"
    client.force_login(owner_of_a.user)
    assert "Reconnect QuickBooks Online" in _follow(client, accounting).content.decode()
