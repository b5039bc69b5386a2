"""Connecting QuickBooks Online: the OAuth flow, token rotation and revocation, against the
QBO stand-in over HTTP (intuit-oauth for the tokens, python-quickbooks for the API)."""

from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection as db_connection

from accounting.models import LedgerConnection, LedgerStatus, PostingSettings
from accounting.services.connections import ledger_adapter
from tests.notifications.delivery import deliver_notification_emails
from tests.security.support import reauthenticate
from unify.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _start(owner_client, org) -> str:
    response = owner_client.post(f"/o/{org.slug}/accounting/qbo/connect/")
    assert response.status_code == 302
    return response["Location"]


def _authorize(qbo, authorize_url: str) -> str:
    """What the user's browser does at Intuit: approve, get sent back to our callback."""
    qbo.set_auto_approve(True)
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def _callback(owner_client, location: str):
    parts = urlsplit(location)
    return owner_client.get(f"{parts.path}?{parts.query}")


def _raw_tokens_column(pk: int) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT tokens FROM accounting_ledgerconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_connect_flow_stores_encrypted_tokens_realm_and_company(
    owner_client, org_a, qbo, qbo_settings, caplog
):
    caplog.set_level(logging.DEBUG)
    authorize_url = _start(owner_client, org_a)
    assert authorize_url.startswith(f"{qbo.base_url}/connect/oauth2?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == ["http://testserver/ledgers/qbo/callback/"]

    response = _callback(owner_client, _authorize(qbo, authorize_url))

    assert response.status_code == 302
    assert response["Location"] == f"/o/{org_a.slug}/accounting/settings/"
    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert (ledger.provider, ledger.company_id, ledger.company_name, ledger.status) == (
        "qbo",
        qbo.realm_id,
        "Sandbox Company_US_1",
        LedgerStatus.ACTIVE,
    )
    tokens = ledger.tokens.reveal()
    raw = _raw_tokens_column(ledger.pk)
    assert tokens["access_token"] and tokens["refresh_token"]
    assert tokens["access_token"] not in raw and tokens["refresh_token"] not in raw
    assert ledger.access_token_expires_at is not None
    ps = PostingSettings.all_orgs.get(ledger_connection=ledger)
    # Likely mappings are suggested from the chart of accounts (reviewed before posting).
    assert (
        ps.product_income_account_id,
        ps.shipping_income_account_id,
        ps.discount_account_id,
        ps.tax_liability_account_id,
        ps.deposit_account_id,
        ps.shipping_expense_account_id,
        ps.label_payment_account_id,
    ) == ("79", "83", "86", "89", "4", "90", "35")
    assert ps.trigger == "manual"
    assert {a["name"] for a in ledger.catalog["accounts"]} >= {"Undeposited Funds", "Checking"}
    assert AuditEvent.objects.filter(organization=org_a, action="ledger.connected").exists()
    # The pages that follow never show a token; neither do the logs.
    for url in ("/accounting/", "/accounting/settings/"):
        page = owner_client.get(f"/o/{org_a.slug}{url}").content.decode()
        assert tokens["access_token"] not in page and tokens["refresh_token"] not in page
    assert tokens["access_token"] not in caplog.text
    assert tokens["refresh_token"] not in caplog.text


def test_forged_state_is_rejected_and_nothing_is_stored(owner_client, org_a, qbo, qbo_settings):
    location = _authorize(qbo, _start(owner_client, org_a))
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged-by-someone&realmId={qbo.realm_id}"

    response = owner_client.get(forged, follow=True)

    assert not LedgerConnection.all_orgs.filter(organization=org_a).exists()
    assert "could not be verified" in response.content.decode()
    # The pending flow is consumed: even the right state no longer works afterwards.
    _callback(owner_client, location)
    assert not LedgerConnection.all_orgs.filter(organization=org_a).exists()


def test_callback_without_a_started_flow_is_rejected(owner_client, org_a, qbo, qbo_settings):
    response = owner_client.get(
        f"/ledgers/qbo/callback/?code=abc&state=abc&realmId={qbo.realm_id}", follow=True
    )
    assert not LedgerConnection.all_orgs.exists()
    assert "could not be verified" in response.content.decode()


def test_member_cannot_start_a_connection(client, member_of_a, org_a, qbo, qbo_settings):
    client.force_login(member_of_a.user)
    assert client.post(f"/o/{org_a.slug}/accounting/qbo/connect/").status_code == 403


def test_expired_access_token_is_refreshed_and_rotated_token_saved(qbo_ledger, qbo, caplog):
    caplog.set_level(logging.DEBUG)
    old = qbo_ledger.tokens.reveal()["refresh_token"]
    old_access = qbo_ledger.tokens.reveal()["access_token"]
    qbo.expire_access_tokens()

    assert ledger_adapter(qbo_ledger).verify().name == "Sandbox Company_US_1"

    qbo_ledger.refresh_from_db()
    new = qbo_ledger.tokens.reveal()["refresh_token"]
    assert new != old
    assert qbo_ledger.tokens_refreshed_at is not None
    # Intuit rotated the refresh token: the old one is dead, the stored one works.
    dead = requests.post(
        f"{qbo.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": old},
        auth=(qbo_settings_client_id(), qbo_settings_client_secret()),
        timeout=10,
    )
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    qbo.expire_access_tokens()
    assert ledger_adapter(qbo_ledger).verify().name == "Sandbox Company_US_1"
    # Refreshes and API calls logged at DEBUG name no token, old or new.
    qbo_ledger.refresh_from_db()
    current = qbo_ledger.tokens.reveal()
    assert "qbo GET" in caplog.text
    for token in (old, old_access, new, current["access_token"], current["refresh_token"]):
        assert token not in caplog.text


def qbo_settings_client_id() -> str:
    from sandbox.qbo.oauth import DEMO_CLIENT_ID

    return DEMO_CLIENT_ID


def qbo_settings_client_secret() -> str:
    from sandbox.qbo.oauth import DEMO_CLIENT_SECRET

    return DEMO_CLIENT_SECRET


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_do_not_lose_the_token(org_a, qbo, qbo_settings):
    from tests.accounting.conftest import connect_ledger

    ledger = connect_ledger(org_a, qbo)
    qbo.expire_access_tokens()
    # Both workers start from the same (now useless) access token and the same refresh token.
    adapters = [ledger_adapter(LedgerConnection.all_orgs.get(pk=ledger.pk)) for _ in range(4)]
    barrier = threading.Barrier(len(adapters))
    results: list[str] = []
    errors: list[BaseException] = []

    def work(adapter) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(adapter.verify().name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in adapters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert results == ["Sandbox Company_US_1"] * len(adapters)
    grants = qbo.oauth.summary()["grants"]
    assert [g["refresh_count"] for g in grants] == [1]  # one refresh, the others waited
    ledger.refresh_from_db()
    qbo.expire_access_tokens()
    assert ledger_adapter(ledger).verify().name == "Sandbox Company_US_1"


def test_revoked_grant_on_test_connection_asks_to_reconnect(
    owner_client, org_a, owner_of_a, qbo, qbo_ledger, django_capture_on_commit_callbacks, mailoutbox
):
    qbo.revoke_tokens()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/o/{org_a.slug}/accounting/ledgers/{qbo_ledger.pk}/test/", follow=True
        )
    qbo_ledger.refresh_from_db()
    assert qbo_ledger.status == LedgerStatus.NEEDS_REAUTH
    page = response.content.decode()
    assert "Reconnect QuickBooks Online" in page
    deliver_notification_emails()  # the "ledger disconnected" notification's email task
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [owner_of_a.user.email]


def test_disconnect_revokes_the_grant_and_forgets_tokens(owner_client, org_a, qbo, qbo_ledger):
    reauthenticate(owner_client)  # disconnecting asks for the password again
    response = owner_client.post(f"/o/{org_a.slug}/accounting/ledgers/{qbo_ledger.pk}/disconnect/")
    assert response.status_code == 302
    qbo_ledger.refresh_from_db()
    assert qbo_ledger.status == LedgerStatus.DISABLED
    assert qbo_ledger.tokens is None
    assert [g["revoked"] for g in qbo.oauth.summary()["grants"]] == [True]
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert "Connect to QuickBooks" in page


def test_reconnecting_the_same_company_reuses_the_connection(
    owner_client, org_a, qbo, qbo_settings
):
    reauthenticate(owner_client)
    _callback(owner_client, _authorize(qbo, _start(owner_client, org_a)))
    first = LedgerConnection.all_orgs.get(organization=org_a)
    owner_client.post(f"/o/{org_a.slug}/accounting/ledgers/{first.pk}/disconnect/")
    _callback(owner_client, _authorize(qbo, _start(owner_client, org_a)))
    assert list(
        LedgerConnection.all_orgs.filter(organization=org_a).values_list("pk", "status")
    ) == [(first.pk, LedgerStatus.ACTIVE)]


@pytest.mark.parametrize("debug", [True, False])
def test_error_page_and_report_of_the_callback_show_no_code_or_token(
    owner_of_a, org_a, qbo, qbo_settings, monkeypatch, caplog, debug
):
    """A crash while the callback holds the authorization code and fresh tokens (the first
    API call with the new access token): neither the debug page (`make run`) nor the report
    built for the admins in production shows any of them."""
    from django.test import Client
    from django.views.debug import get_exception_reporter_class

    from accounting.ledgers.qbo import client as qbo_client

    client = Client(raise_request_exception=False)
    client.force_login(owner_of_a.user)
    location = _authorize(qbo, _start(client, org_a))
    code = parse_qs(urlsplit(location).query)["code"][0]

    class CrashingPool:
        def request(self, method, url, body=None, headers=None, **kwargs):
            raise RuntimeError("crash while calling QuickBooks")

    monkeypatch.setattr(qbo_client, "_http", CrashingPool)
    qbo_settings.DEBUG = debug
    caplog.set_level(logging.ERROR, logger="django.request")

    response = _callback(client, location)

    assert response.status_code == 500
    access = list(qbo.oauth.access_tokens)
    refresh = [grant.refresh_token for grant in qbo.oauth.grants.values()]
    assert len(access) == 1 and len(refresh) == 1  # the code was exchanged
    secrets = [code, *(token[-40:] for token in access), *refresh]
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = get_exception_reporter_class(record.request)(
        record.request, *record.exc_info, is_email=not debug
    )
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    shown = [response.content.decode(), text, html]
    if debug:
        assert "Local vars" in shown[0] and "crash while calling QuickBooks" in shown[0]
    assert "process_request" in text and "crash while calling QuickBooks" in text
    assert "/ledgers/qbo/callback/" in text
    assert [s for s in secrets if any(s in page for page in shown)] == []
    assert not LedgerConnection.all_orgs.filter(organization=org_a).exists()
