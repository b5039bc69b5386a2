"""QuickBooks Desktop end to end: the Web Connector simulator drives the real SOAP endpoint
over HTTP (the live server), against a stand-in company file."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting, PostingState
from sales.models import Order
from sandbox.qbwc import Company
from tests.accounting.factories import ShippingCostFactory, make_order
from tests.accounting.qbd.support import (
    catalog_run,
    connect,
    enqueue,
    map_settings,
    web_connector,
)
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
