"""Connecting Xero through the stand-in over HTTP: the code flow with its state, the
organisation picker, tokens encrypted and rotated, one refresh after a 401, revoked access,
disconnect, and two organizations whose tokens never mix in one process."""

from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection as db_connection

from accounting.models import LedgerConnection, LedgerStatus, Posting, PostingSettings
from accounting.services import posting_enqueue_orders
from accounting.services.connections import ledger_adapter
from accounting.services.engine import posting_drain
from sandbox.xero import DEFAULT_TENANT_ID, SECOND_TENANT_ID
from tests.accounting.factories import make_order
from tests.accounting.xero_support import connect_xero, xero_account
from tests.factories import MembershipFactory, OrganizationFactory
from tests.notifications.delivery import deliver_notification_emails
from tests.security.support import reauthenticate
from unify.core.models import AuditEvent
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def _start(client, org) -> str:
    response = client.get(f"/o/{org.slug}/accounting/xero/connect/")
    assert response.status_code == 302
    return response["Location"]


def _consent(xero, authorize_url: str, tenants=(DEFAULT_TENANT_ID,), decision="allow") -> str:
    """What the browser does on Xero's consent page; returns where it is sent back to."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    form = {**params, "decision": decision, "tenant": list(tenants)}
    answer = requests.post(
        f"{xero.base_url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def _back(client, location: str):
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def _raw_tokens(pk: int) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT tokens FROM accounting_ledgerconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_connect_one_organisation_stores_encrypted_tokens_and_suggests_mappings(
    owner_client, org_a, xero, xero_settings, caplog
):
    caplog.set_level(logging.DEBUG)
    authorize_url = _start(owner_client, org_a)
    assert authorize_url.startswith(f"{xero.base_url}/identity/connect/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["redirect_uri"] == ["http://testserver/ledgers/xero/callback/"]
    assert query["response_type"] == ["code"] and query["state"][0]
    scopes = query["scope"][0].split()
    assert {"offline_access", "accounting.invoices", "accounting.payments",
            "accounting.banktransactions", "accounting.manualjournals", "accounting.contacts",
            "accounting.settings"} <= set(scopes)  # fmt: skip
    assert "accounting.transactions" not in scopes

    response = _back(owner_client, _consent(xero, authorize_url))

    assert response.status_code == 302
    assert response["Location"] == f"/o/{org_a.slug}/accounting/settings/"
    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert (ledger.provider, ledger.company_id, ledger.company_name, ledger.status) == (
        "xero",
        DEFAULT_TENANT_ID,
        "Demo Company (US)",
        LedgerStatus.ACTIVE,
    )
    tokens = ledger.tokens.reveal()
    raw = _raw_tokens(ledger.pk)
    assert tokens["access_token"] not in raw and tokens["refresh_token"] not in raw
    ps = PostingSettings.all_orgs.get(ledger_connection=ledger)
    tenant = DEFAULT_TENANT_ID
    assert (
        ps.document_type,
        ps.product_income_account_id,
        ps.shipping_income_account_id,
        ps.discount_account_id,
        ps.tax_liability_account_id,
        ps.deposit_account_id,
        ps.shipping_expense_account_id,
        ps.label_payment_account_id,
        ps.reconciliation_account_id,
    ) == (
        "invoice_payment",
        xero_account("sales", tenant),
        xero_account("shipping_income", tenant),
        xero_account("discounts", tenant),
        xero_account("sales_tax", tenant),
        xero_account("clearing", tenant),
        xero_account("freight", tenant),
        xero_account("bank", tenant),
        xero_account("reconciliation", tenant),
    )
    assert AuditEvent.objects.filter(organization=org_a, action="ledger.connected").exists()
    # The settings dropdowns come from Xero's chart, items and tax rates.
    page = owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode()
    assert "615 · Sales Clearing" in page and "California Sales Tax (7.25 %)" in page
    assert 'value="invoice_payment"' in page and 'value="sales_receipt"' not in page
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert token not in page and token not in caplog.text


def test_several_organisations_ask_which_one(owner_client, org_a, xero, xero_settings):
    location = _consent(
        xero, _start(owner_client, org_a), tenants=(DEFAULT_TENANT_ID, SECOND_TENANT_ID)
    )
    response = _back(owner_client, location)
    assert response["Location"] == f"/o/{org_a.slug}/accounting/xero/organisation/"
    assert not LedgerConnection.all_orgs.filter(organization=org_a).exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "Demo Company (US)" in page and "Bolt Bikes Ltd" in page
    # The tokens waiting for the choice are in no page and not in the session.
    [access] = list(xero.identity.access_tokens)
    [grant] = xero.identity.grants.values()
    session_text = repr(dict(owner_client.session))
    for token in (access, grant.refresh_token):
        assert token not in page and token not in session_text

    chosen = owner_client.post(response["Location"], {"tenant_id": SECOND_TENANT_ID})

    assert chosen["Location"] == f"/o/{org_a.slug}/accounting/settings/"
    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert (ledger.company_id, ledger.company_name) == (SECOND_TENANT_ID, "Bolt Bikes Ltd")
    # The choice is used up: the picker sends a second visit home.
    again = owner_client.get(response["Location"], follow=True)
    assert "has expired" in again.content.decode()


def test_picker_refuses_an_organisation_the_login_did_not_reach(
    owner_client, org_a, xero, xero_settings
):
    xero.create_organisation("Not granted", tenant_id="c0ffee00-0000-4000-8000-000000000001")
    location = _consent(
        xero, _start(owner_client, org_a), tenants=(DEFAULT_TENANT_ID, SECOND_TENANT_ID)
    )
    picker = _back(owner_client, location)["Location"]
    refused = owner_client.post(
        picker, {"tenant_id": "c0ffee00-0000-4000-8000-000000000001"}, follow=True
    )
    assert "Choose one of the organisations listed." in refused.content.decode()
    assert not LedgerConnection.all_orgs.exists()


def test_forged_state_is_rejected_and_nothing_is_stored(owner_client, org_a, xero, xero_settings):
    location = _consent(xero, _start(owner_client, org_a))
    query = parse_qs(urlsplit(location).query)
    forged = f"/ledgers/xero/callback/?code={query['code'][0]}&state=forged"
    response = owner_client.get(forged, follow=True)
    assert "could not be verified" in response.content.decode()
    assert not LedgerConnection.all_orgs.exists()
    _back(owner_client, location)  # the flow was consumed: the real state is dead too
    assert not LedgerConnection.all_orgs.exists()
    assert xero.identity.summary()["grants"] == []  # the code was never exchanged


def test_denied_consent_says_cancelled_and_stores_nothing(owner_client, org_a, xero, xero_settings):
    location = _consent(xero, _start(owner_client, org_a), tenants=(), decision="deny")
    response = _back(owner_client, location)
    page = owner_client.get(response["Location"]).content.decode()
    assert "The connection was cancelled in Xero." in page
    assert not LedgerConnection.all_orgs.exists()


def test_member_cannot_start_a_connection(client, member_of_a, org_a, xero, xero_settings):
    client.force_login(member_of_a.user)
    assert client.get(f"/o/{org_a.slug}/accounting/xero/connect/").status_code == 403
    assert client.get(f"/o/{org_a.slug}/accounting/xero/organisation/").status_code == 403


def test_expired_access_token_is_refreshed_and_the_rotation_saved(xero_ledger, xero):
    old = xero_ledger.tokens.reveal()
    from datetime import timedelta

    from django.utils import timezone

    LedgerConnection.all_orgs.filter(pk=xero_ledger.pk).update(
        access_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    xero_ledger.refresh_from_db()
    assert ledger_adapter(xero_ledger).verify().name == "Demo Company (US)"
    xero_ledger.refresh_from_db()
    new = xero_ledger.tokens.reveal()
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    assert xero_ledger.tokens_refreshed_at is not None
    dead = requests.post(
        xero.token_url,
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
        auth=("DEMOUNIFYXEROSANDBOXCLIENT000000", xero_ledger_secret()),
        timeout=5,
    )
    assert dead.json() == {"error": "invalid_grant"}


def xero_ledger_secret() -> str:
    from sandbox.xero import DEMO_CLIENT_SECRET

    return DEMO_CLIENT_SECRET


def test_a_401_refreshes_once_and_repeats_the_call(xero_ledger, xero):
    # Xero refuses the access token our database still believes valid.
    xero.expire_access_tokens()
    assert ledger_adapter(xero_ledger).verify().name == "Demo Company (US)"
    statuses = [r.status for r in xero.requests_log(DEFAULT_TENANT_ID)]
    assert statuses == [401, 200]
    assert [g["refresh_count"] for g in xero.identity.summary()["grants"]] == [1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_spend_the_refresh_token_once(org_a, xero, xero_settings):
    ledger = connect_xero(org_a, xero)
    xero.expire_access_tokens()
    adapters = [ledger_adapter(LedgerConnection.all_orgs.get(pk=ledger.pk)) for _ in range(4)]
    barrier = threading.Barrier(len(adapters))
    names, errors = [], []

    def work(adapter) -> None:
        try:
            barrier.wait(timeout=10)
            names.append(adapter.verify().name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in adapters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and names == ["Demo Company (US)"] * 4
    assert [g["refresh_count"] for g in xero.identity.summary()["grants"]] == [1]


def test_revoked_access_marks_the_ledger_needs_reauth_and_postings_wait(
    owner_client, org_a, owner_of_a, xero, xero_ledger, django_capture_on_commit_callbacks,
    mailoutbox,
):  # fmt: skip
    order = make_order(org_a, lines=[("SKU-1", "Widget", 1, "10.00", False)])
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    xero.revoke_tokens()
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        posting_drain(ledger_connection_id=xero_ledger.pk)
    xero_ledger.refresh_from_db()
    assert xero_ledger.status == LedgerStatus.NEEDS_REAUTH
    with org_scope(org_a.pk):
        posting = Posting.objects.get()
    assert (posting.status, posting.attempts) == ("pending", 0)
    deliver_notification_emails()  # the "ledger disconnected" notification's email task
    assert len(mailoutbox) == 1 and "Reconnect Xero" in mailoutbox[0].subject
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert "Reconnect Xero" in page
    assert xero.documents("Invoices") == []


def test_disconnect_deletes_only_this_organisations_connection(
    owner_client, org_a, xero, xero_settings
):
    tokens = xero.issue_tokens([DEFAULT_TENANT_ID, SECOND_TENANT_ID])
    ledger = connect_xero(org_a, xero)
    LedgerConnection.all_orgs.filter(pk=ledger.pk).update(
        tokens={"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}
    )
    reauthenticate(owner_client)
    response = owner_client.post(f"/o/{org_a.slug}/accounting/ledgers/{ledger.pk}/disconnect/")
    assert response.status_code == 302
    ledger.refresh_from_db()
    assert (ledger.status, ledger.tokens) == (LedgerStatus.DISABLED, None)
    remaining = [c["tenantId"] for c in xero.identity.summary()["connections"]]
    assert DEFAULT_TENANT_ID not in remaining and SECOND_TENANT_ID in remaining
    assert [e["kind"] for e in xero.events("connection_deleted")] == ["connection_deleted"]


@pytest.mark.django_db(transaction=True)
def test_two_organizations_in_one_process_never_mix_tokens(xero, xero_settings):
    """xero-python's Configuration is a shared default: each connection's client must carry
    its own token. Two organizations, two Xero users, two organisations, posting at once."""
    acme = OrganizationFactory(name="Acme", slug="acme-x")
    bolt = OrganizationFactory(name="Bolt", slug="bolt-x")
    MembershipFactory(organization=acme, role=Role.OWNER)
    MembershipFactory(organization=bolt, role=Role.OWNER)
    ledgers = {
        acme.pk: connect_xero(acme, xero, tenant_id=DEFAULT_TENANT_ID, user="a@acme.example"),
        bolt.pk: connect_xero(bolt, xero, tenant_id=SECOND_TENANT_ID, user="b@bolt.example"),
    }
    for org in (acme, bolt):
        orders = [
            make_order(org, lines=[("SKU-1", "Widget", 1, "10.00", False)], number=f"{org.pk}-{i}")
            for i in range(12)
        ]
        with org_scope(org.pk):
            posting_enqueue_orders(organization=org, order_ids=[o.pk for o in orders])
    xero.expire_access_tokens()  # both refresh mid-run, in the same process
    errors: list[BaseException] = []

    def drain(org_id: int) -> None:
        try:
            with org_scope(org_id):
                posting_drain(ledger_connection_id=ledgers[org_id].pk, batch_size=3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=drain, args=(o,)) for o in (acme.pk, bolt.pk) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert xero.users_seen(DEFAULT_TENANT_ID) == {"a@acme.example"}
    assert xero.users_seen(SECOND_TENANT_ID) == {"b@bolt.example"}
    assert xero.stats(DEFAULT_TENANT_ID)["forbidden"] == 0
    assert xero.stats(SECOND_TENANT_ID)["forbidden"] == 0
    for org, tenant in ((acme, DEFAULT_TENANT_ID), (bolt, SECOND_TENANT_ID)):
        numbers = sorted(i["InvoiceNumber"] for i in xero.documents("Invoices", tenant))
        assert numbers == sorted(f"SS-{org.pk}-{i}" for i in range(12))
        with org_scope(org.pk):
            assert set(Posting.objects.values_list("status", flat=True)) == {"posted"}


@pytest.mark.parametrize("debug", [True, False])
def test_error_page_and_report_of_the_callback_show_no_code_or_token(
    owner_of_a, org_a, xero, xero_settings, monkeypatch, caplog, debug
):
    """A crash while the callback holds the code and the fresh tokens (the first API call
    with them): neither the debug page nor the report for the admins shows any of them."""
    from django.test import Client
    from django.views.debug import get_exception_reporter_class
    from xero_python import rest

    client = Client(raise_request_exception=False)
    client.force_login(owner_of_a.user)
    location = _consent(xero, _start(client, org_a))
    code = parse_qs(urlsplit(location).query)["code"][0]
    real = rest.RESTClientObject.request

    def crash_on_api(self, method, url, *args, **kwargs):
        if "/api.xro/" in url or "onnections" in url:
            raise RuntimeError("crash while calling Xero")
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "request", crash_on_api)
    xero_settings.DEBUG = debug
    caplog.set_level(logging.ERROR, logger="django.request")

    response = _back(client, location)

    assert response.status_code == 500
    access = list(xero.identity.access_tokens)
    refresh = [g.refresh_token for g in xero.identity.grants.values()]
    assert len(access) == 1 and len(refresh) == 1  # the code was exchanged
    secrets = [code, *(token[-40:] for token in access), *refresh]
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = get_exception_reporter_class(record.request)(
        record.request, *record.exc_info, is_email=not debug
    )
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    shown = [response.content.decode(), text, html]
    assert "crash while calling Xero" in text and "/ledgers/xero/callback/" in text
    assert [s for s in secrets if any(s in page for page in shown)] == []
    assert not LedgerConnection.all_orgs.filter(organization=org_a).exists()


def test_revoking_ends_the_grant_at_xeros_revocation_endpoint(xero_ledger, xero):
    """Revoking posts the refresh token to Xero's revocation endpoint (not the token
    endpoint, which answers 400 to a request without a grant): the grant ends, the user's
    connections go, and the tokens no longer open the organisation."""
    from accounting.ledgers.base import OAuthTokens
    from accounting.ledgers.registry import get_provider

    data = xero_ledger.tokens.reveal()
    assert xero.identity.summary()["connections"] != []
    get_provider("xero").revoke(
        tokens=OAuthTokens(access_token=data["access_token"], refresh_token=data["refresh_token"])
    )
    assert xero.identity.summary()["connections"] == []
    revocations = [r for r in xero.requests_log(None) if r.path.endswith("/connect/revocation")]
    assert len(revocations) == 1 and revocations[0].status == 200
    assert (
        requests.get(
            f"{xero.base_url}/api.xro/2.0/Organisation",
            headers={
                "Authorization": f"Bearer {data['access_token']}",
                "xero-tenant-id": DEFAULT_TENANT_ID,
            },
            timeout=5,
        ).status_code
        == 401
    )
