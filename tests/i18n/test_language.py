"""Which language a person reads: the browser's on a first visit, then their own (Settings >
Profile or the footer switcher), kept at sign-in; emails in each recipient's language; the
organization's time zone unchanged."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail

from unify.core.i18n import send_mail_each_language, set_user_language
from unify.tenancy.models import UserProfile

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _heading(response) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S).group(1).strip()


def test_first_visit_follows_accept_language(client):
    german = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert german["Content-Language"] == "de"
    assert _heading(german) == "Bei Unify anmelden"
    assert '<html lang="de">' in german.content.decode()
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert _heading(english) == "Sign in to Unify"


def test_sign_up_keeps_the_language_the_page_was_read_in(client, db):
    # A new address each run: allauth's confirmation cooldown lives in the (shared) cache.
    email = f"anna-{uuid.uuid4().hex[:10]}@kram.example"
    response = client.post(
        "/accounts/signup/",
        {
            "organization_name": "Berliner Kram GmbH",
            "timezone": "Europe/Berlin",
            "email": email,
            "password1": "Ein-sicheres-Passwort-42",
            "password2": "Ein-sicheres-Passwort-42",
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 302
    assert UserProfile.objects.get(user__email=email).language == "de"
    # The confirmation email went out in German too.
    assert len(mail.outbox) == 1
    assert "Hallo von Unify" in mail.outbox[0].body


def test_profile_language_wins_over_the_browser_and_is_kept_at_sign_in(client, owner_of_a):
    user = owner_of_a.user
    set_user_language(user, "de")
    response = client.post(
        "/accounts/login/",
        {"login": user.email, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en-US,en",
    )
    assert response.status_code == 302
    page = client.get("/o/acme/settings/profile/", HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert page["Content-Language"] == "de"
    text = page.content.decode()
    assert 'data-testid="profile-form"' in text and "Profil speichern" in text
    # The organization keeps its own time zone whatever the language.
    assert "Zeiten sind in der Zeitzone der Organisation angegeben, America/New_York." in text


def test_settings_profile_changes_the_language(client, owner_of_a):
    client.force_login(owner_of_a.user)
    assert "Save profile" in client.get("/o/acme/settings/profile/").content.decode()
    response = client.post("/o/acme/settings/profile/", {"language": "de"}, follow=True)
    assert "Ihr Profil wurde gespeichert." in response.content.decode()
    assert UserProfile.objects.get(user=owner_of_a.user).language == "de"
    assert client.get("/o/acme/connections/")["Content-Language"] == "de"
    client.post("/o/acme/settings/profile/", {"language": "en"})
    assert client.get("/o/acme/connections/")["Content-Language"] == "en"
    assert client.post("/o/acme/settings/profile/", {"language": "xx"}).status_code == 200
    assert UserProfile.objects.get(user=owner_of_a.user).language == "en"


def test_footer_switcher_sets_the_cookie_and_the_profile(client, owner_of_a):
    anonymous = client.post("/i18n/setlang/", {"language": "de", "next": "/accounts/login/"})
    assert anonymous.status_code == 302 and anonymous["Location"] == "/accounts/login/"
    assert client.cookies["django_language"].value == "de"
    assert _heading(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")) == (
        "Bei Unify anmelden"
    )
    client.force_login(owner_of_a.user)
    page = client.get("/o/acme/connections/").content.decode()
    assert 'data-testid="language-switcher"' in page and 'value="en"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/o/acme/connections/"})
    assert UserProfile.objects.get(user=owner_of_a.user).language == "en"
    client.post("/i18n/setlang/", {"language": "de", "next": "/o/acme/connections/"})
    assert UserProfile.objects.get(user=owner_of_a.user).language == "de"
    assert "Shop hinzufügen" in client.get("/o/acme/connections/").content.decode()


def test_emails_go_out_in_each_recipients_language(owner_of_a, admin_of_a):
    from django.utils.translation import gettext as _

    set_user_language(owner_of_a.user, "de")
    set_user_language(admin_of_a.user, "en")
    send_mail_each_language(
        [owner_of_a.user.email, admin_of_a.user.email, "nobody@else.example"],
        lambda: (_("Posting settings saved."), _("Connect a ledger first.")),
        default="en",
    )
    sent = {tuple(m.to): (m.subject, m.body) for m in mail.outbox}
    assert sent == {
        (owner_of_a.user.email,): ("Buchungseinstellungen gespeichert.", (
            "Verbinden Sie zuerst eine Buchhaltung.")),
        (admin_of_a.user.email, "nobody@else.example"): (
            "Posting settings saved.", "Connect a ledger first."),
    }  # fmt: skip


def test_an_invitation_reaches_an_existing_person_in_their_language(client, owner_of_a):
    from tests.factories import UserFactory

    invitee = UserFactory(username="ben", email="ben@kram.example")
    set_user_language(invitee, "de")
    client.force_login(owner_of_a.user)
    response = client.post(
        "/o/acme/settings/members/", {"email": "ben@kram.example", "role": "member"}
    )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject == "Sie sind zu Acme Outdoor bei Unify eingeladen"
    assert "hat Sie eingeladen, Acme Outdoor bei Unify als Mitglied beizutreten" in message.body
