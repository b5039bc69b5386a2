"""Support staff get an account with ``make support-user`` (``create_support_user``): a staff
superuser whose email is confirmed, so allauth's sign-in (mandatory verification) lets them
in and /admin/ opens. ``createsuperuser`` alone is not enough."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.security.support import enable_totp
from tests.tenancy.conftest import PASSWORD

User = get_user_model()
REPO_ROOT = Path(__file__).resolve().parents[2]
EMAIL = "sam@unify-support.test"


def _sign_in(client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


@pytest.mark.django_db
def test_createsuperuser_alone_cannot_sign_in(client):
    """Why the command exists: allauth sends a confirmation email instead of letting in a
    user whose address was never confirmed."""
    User.objects.create_superuser(
        username="plain", email="plain@unify-support.test", password=PASSWORD
    )
    response = _sign_in(client, "plain@unify-support.test", PASSWORD)
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_support_user_signs_in_and_opens_the_admin(client, monkeypatch, capsys):
    monkeypatch.setenv("UNIFY_SUPPORT_PASSWORD", PASSWORD)
    call_command("create_support_user", email="Sam@Unify-Support.test", interactive=False)

    user = User.objects.get(email=EMAIL)
    assert (user.username, user.is_staff, user.is_superuser, user.is_active) == (
        EMAIL,
        True,
        True,
        True,
    )
    assert list(
        EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")
    ) == [(EMAIL, True, True)]
    assert "Support account sam@unify-support.test created" in capsys.readouterr().out
    response = _sign_in(client, EMAIL, PASSWORD)
    assert response["Location"] == "/"
    # Staff set up an authenticator app before the admin opens (then it does).
    assert client.get("/admin/")["Location"] == "/accounts/2fa/totp/activate/"
    enable_totp(user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_running_it_again_updates_the_same_account(monkeypatch):
    monkeypatch.setenv("UNIFY_SUPPORT_PASSWORD", PASSWORD)
    call_command("create_support_user", email=EMAIL, interactive=False)
    monkeypatch.setenv("UNIFY_SUPPORT_PASSWORD", "An0ther-support-pass")
    call_command("create_support_user", email=EMAIL, interactive=False)

    [user] = User.objects.filter(email=EMAIL)
    assert user.check_password("An0ther-support-pass")
    assert EmailAddress.objects.filter(user=user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", PASSWORD, "Give the support person's email address"),
        (EMAIL, "", "Set UNIFY_SUPPORT_PASSWORD"),
        (EMAIL, "short", "This password is too short."),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(monkeypatch, email, password, message):
    monkeypatch.setenv("UNIFY_SUPPORT_PASSWORD", password)
    with pytest.raises(CommandError, match=message):
        call_command("create_support_user", email=email, interactive=False)
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_make_support_user_runs_the_command(client):
    """What ``make support-user EMAIL=...`` runs, run against the test database."""
    from tests.worker_process import subprocess_database_url

    dry = subprocess.run(
        ["make", "-n", "support-user", f"EMAIL={EMAIL}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    [command] = [line for line in dry.stdout.splitlines() if "create_support_user" in line]
    assert command == f'.venv/bin/python manage.py create_support_user --email "{EMAIL}"'
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "DJANGO_SETTINGS_MODULE": "unify.settings.test",
        "UNIFY_SUPPORT_PASSWORD": PASSWORD,
    }
    args = shlex.split(command)
    args[0] = str(REPO_ROOT / args[0]) if not Path(args[0]).is_absolute() else args[0]
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Support account {EMAIL} created" in done.stdout
    assert _sign_in(client, EMAIL, PASSWORD)["Location"] == "/"
    enable_totp(User.objects.get(email=EMAIL))
    assert client.get("/admin/").status_code == 200
