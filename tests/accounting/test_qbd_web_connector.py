"""QuickBooks Desktop end to end: the Web Connector simulator drives the real SOAP endpoint
over HTTP (the live server), against a stand-in company file."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting
from sales.models import Order
from sandbox.qbwc import Company
from tests.accounting.factories import make_order, make_store_connection
from tests.accounting.qbd.support import (
    catalog_run,
    connect,
    enqueue,
    map_settings,
    web_connector,
)
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


def _orders(org, n: int, **kwargs):
    now = timezone.now()
    return [
        make_order(
            org,
            lines=[
                ("MUG-BLUE", "Blue mug", 2, "14.50", False),
                (None, "WELCOME5", 1, "-5.00", True),
            ],
            shipping="6.95",
            tax="2.10",
            number=f"A-{1000 + i}",
            order_date=now - timedelta(hours=2 + i),
            payment_date=now - timedelta(hours=2 + i),
            customer_name=f"Buyer {i % 3}",
            customer_email=f"buyer{i % 3}@example.com",
            **kwargs,
        )
        for i in range(n)
    ]


def test_full_run_posts_every_sale_once_and_a_second_run_has_nothing_to_do(live_server, org_a):
    company = Company()
    credentials = connect(org_a)
    catalog_run(live_server, credentials, company)
    map_settings(credentials.connection, company)
    orders = _orders(org_a, 7)
    enqueue(org_a, orders)

    result = web_connector(live_server, credentials, company).run()

    assert result.finished, result
    receipts = company.transactions("SalesReceipt")
    assert sorted(r.ref_number for r in receipts) == sorted(f"SS-A-{1000 + i}" for i in range(7))
    assert {Decimal(r.total) for r in receipts} == {Decimal("33.05")}
    assert len(company.of_kind("customer")) == 3
    with org_scope(org_a.pk):
        postings = list(Posting.objects.all())
        assert Counter(p.status for p in postings) == {"posted": 7}
        assert {p.external_id for p in postings} == {r.txn_id for r in receipts}
        assert set(Order.objects.values_list("posting_status", flat=True)) == {"posted"}
    again = web_connector(live_server, credentials, company).run()
    assert again.status == "none"
    assert len(company.transactions("SalesReceipt")) == 7


@pytest.mark.parametrize("cut_every", [1, 2, 3])
def test_runs_cut_after_every_n_exchanges_then_rerun_post_each_document_once(
    live_server, org_a, cut_every, settings
):
    # A run that died is not "busy" for the next one (in production: after 2 minutes idle).
    settings.QBD_BUSY_SECONDS = 0
    company = Company()
    credentials = connect(org_a)
    catalog_run(live_server, credentials, company)
    map_settings(credentials.connection, company, document_type="invoice_payment")
    orders = _orders(org_a, 5)
    store = make_store_connection(org_a)
    for order in orders[:3]:
        ShippingCostFactory(
            organization=org_a, connection=store, order=order, order_number=order.number
        )
    enqueue(org_a, orders)
    connector = web_connector(live_server, credentials, company)
    # Runs die after N, 2N, 3N... messages ran in QuickBooks (their answers lost), until one
    # gets to the end: every message a dead run sent was processed by QuickBooks.
    cuts = 0
    for attempt in range(1, 40):
        result = connector.run(cut_after=cut_every * attempt)
        if result.status != "cut":
            break
        cuts += 1
    assert result.status in ("", "none"), result
    assert cuts >= 1
    final = connector.run()
    assert final.status == "none"
    invoices = company.transactions("Invoice")
    payments = company.transactions("ReceivePayment")
    checks = company.transactions("Check")
    assert sorted(i.ref_number for i in invoices) == sorted(f"SS-A-{1000 + i}" for i in range(5))
    assert len(payments) == 5 and {p.applied_to for p in payments} == {i.txn_id for i in invoices}
    assert {Decimal(p.total) for p in payments} == {Decimal("33.05")}
    assert sorted(c.ref_number for c in checks) == sorted(f"SS-A-{1000 + i}-L" for i in range(3))
    assert {Decimal(c.total) for c in checks} == {Decimal("7.45")}
    assert len(company.of_kind("customer")) == 3
    with org_scope(org_a.pk):
        assert Counter(Posting.objects.values_list("status", flat=True)) == {"posted": 8}


def test_python_m_sandbox_qbwc_runs_an_update_from_the_qwc_file(
    live_server, org_a, tmp_path, settings
):
    import subprocess
    import sys
    from pathlib import Path

    from accounting.ledgers.qbd.models import WebConnectorUser
    from accounting.ledgers.qbd.services import qwc_file

    settings.UNIFY_PUBLIC_BASE_URL = live_server.url
    credentials = connect(org_a)
    qwc = tmp_path / "unify.qwc"
    qwc.write_text(qwc_file(connection=credentials.connection))
    books = tmp_path / "books.json"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "qbwc", "--qwc", str(qwc), "--password",
         credentials.password, "--books", str(books), "--once"],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "0 document(s) posted" in done.stdout
    assert books.exists()
    user = WebConnectorUser.all_orgs.get(organization=org_a)
    assert user.last_contact_at is not None and not user.catalog_requested
    credentials.connection.refresh_from_db()
    assert credentials.connection.company_name == "Sandbox Outdoor Supply"
    assert {a["name"] for a in credentials.connection.catalog["accounts"]} >= {"Checking"}
