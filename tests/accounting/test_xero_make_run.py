"""``make run`` lets a new user connect the Xero stand-in: the settings it sets point at the
stand-in that ``python -m sandbox`` starts (port 8767), and with them a merchant browsing
either loopback name connects and posts. Over HTTP against a live server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounting.models import LedgerConnection, LedgerStatus, Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from sandbox import xero as xero_sandbox
from tests.accounting.factories import make_order
from tests.accounting.test_oauth_local_hosts import Browser
from unify.devtools.management.commands.run_embedded import sandbox_environment
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


def test_make_run_settings_name_the_xero_stand_in_of_python_m_sandbox(xero):
    environment = sandbox_environment()
    base = f"http://127.0.0.1:{xero_sandbox.DEFAULT_PORT}"
    served = {
        "XERO_AUTHORIZE_URL": xero.authorize_url,
        "XERO_TOKEN_URL": xero.token_url,
        "XERO_IDENTITY_BASE_URL": xero.identity_base_url,
        "XERO_API_BASE_URL": xero.api_base_url,
        "XERO_APP_BASE_URL": xero.base_url,
    }
    for name, url in served.items():
        assert environment[name] == url.replace(xero.base_url, base), name
    assert environment["XERO_CLIENT_ID"] == xero_sandbox.DEMO_CLIENT_ID
    assert environment["XERO_CLIENT_SECRET"] == xero_sandbox.DEMO_CLIENT_SECRET
    assert "XERO_REDIRECT_URI" not in environment


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_new_user_connects_the_xero_stand_in_and_posts(
    host, live_server, owner_of_a, org_a, xero, xero_settings, settings
):
    settings.DEBUG = True
    environment = sandbox_environment()
    for name, value in environment.items():
        if name.startswith("XERO_"):
            setattr(settings, name, value.replace(
                f"http://127.0.0.1:{xero_sandbox.DEFAULT_PORT}", xero.base_url
            ))  # fmt: skip
    base = f"http://{host}:{urlsplit(live_server.url).port}"
    browser = Browser()
    browser.sign_in(host, owner_of_a.user)

    start = browser.get(f"{base}/o/{org_a.slug}/accounting/xero/connect/")
    authorize_url = start.headers["Location"]
    redirect_uri = parse_qs(urlsplit(authorize_url).query)["redirect_uri"]
    assert redirect_uri == [f"{base}/ledgers/xero/callback/"]
    xero.set_auto_approve(True)
    callback = requests.get(authorize_url, allow_redirects=False, timeout=10).headers["Location"]
    done = browser.get(callback)
    assert done.headers["Location"] == f"/o/{org_a.slug}/accounting/settings/"
    ledger = LedgerConnection.all_orgs.get(organization=org_a)
    assert (ledger.provider, ledger.status) == ("xero", LedgerStatus.ACTIVE)
    order = make_order(org_a, lines=[("SKU-1", "Widget", 1, "10.00", False)])
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        assert Posting.objects.get().status == "posted"
    assert [i["Total"] for i in xero.documents("Invoices")] == [order.amount_paid]
