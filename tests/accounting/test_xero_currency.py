"""Issue 18: a daily summary of a store whose currency is not the Xero organisation's base
currency is held, never booked unconverted.

Xero's manual journals carry no currency: a Canadian-dollar day sent to a US-dollar
organisation would be booked as that many US dollars. Invoices carry ``CurrencyCode`` and
Xero converts them at its rate (the stand-in's CAD day rate is 1.36 CAD per USD, not 1, so
figures booked unconverted would differ). Such a summary is held with a plain reason, as
QuickBooks Online's foreign currency without multicurrency is; when the posting settings
change, the held summaries follow them.

Real parts: PostgreSQL, Redis, the ShipStation and Xero stand-ins over HTTP (xero-python).
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingSettings
from accounting.services.connections import posting_settings_update
from accounting.services.engine import posting_drain
from connections.models import SourceStore
from sandbox.shipstation import DEMO_SEED
from tests.accounting import readback_support as rb
from tests.accounting.xero_support import connect_xero
from tests.sales.support import SS_KEY, SS_SECRET
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

HELD_URL = "/o/{slug}/accounting/postings/?status=failed&held=1"
ITEM = re.compile(
    r'<a class="card[^"]*attention-item" href="([^"]+)" data-testid="attention-([^"]+)" '
    r'data-count="(\d+)"'
)


def _setup(org, ss, settings, xero, xero_settings, **overrides):
    """A US-dollar ShipStation account and a Canadian-dollar one (one store each), imported
    and posted as daily summaries to the US-dollar Xero organisation."""
    settings.SHIPSTATION_API_BASE_URL = ss.base_url
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = 100_000
    xero.disable_limits()
    xero_settings.XERO_RATE_LIMIT_PER_MINUTE = 1_000_000
    ss.disable_rate_limit()
    ss.add_account(SS_KEY, SS_SECRET, seed=DEMO_SEED, orders=8, days=4, stores=1)
    ss.add_account(rb.CAD_ACCOUNT[1], rb.CAD_ACCOUNT[2], seed=DEMO_SEED + 1, orders=8, days=4,
                   stores=1)  # fmt: skip
    for store in ss.account(rb.CAD_ACCOUNT[1]).stores.values():
        store.store_name += " (Canada)"
    stores = [
        rb.connect(org, ss, rb.USD_ACCOUNT),
        rb.connect(org, ss, rb.CAD_ACCOUNT, name="ShipStation CA", currency="CAD"),
    ]
    ledger = connect_xero(
        org,
        xero,
        trigger="after_import",
        document_type="daily_summary",
        reconciliation_enabled=True,
        label_cost_mode="off",
        **overrides,
    )
    rb.post_all(org, stores, ledger)
    with org_scope(org.pk):
        cad_stores = {
            str(pk)
            for pk in SourceStore.objects.filter(connection=stores[1]).values_list("pk", flat=True)
        }
        summaries = list(Posting.objects.filter(kind="summary"))
    cad = [p for p in summaries if p.summary_store_key in cad_stores]
    usd = [p for p in summaries if p.summary_store_key not in cad_stores]
    assert cad and usd
    return ledger, stores, cad, usd


def _held_count(client, org) -> int:
    page = client.get(f"/o/{org.slug}/").content.decode()
    items = {key: int(count) for _url, key, count in ITEM.findall(page)}
    return items.get("held_postings", 0)


def _assert_cad_days_held(org, xero, cad, usd, owner_client) -> None:
    for posting in usd:
        assert posting.status == "posted", posting.error
    for posting in cad:
        assert (posting.status, posting.hold_reason) == ("failed", "currency"), posting.error
        assert "This daily summary is in CAD" in posting.error
        assert "keeps its books in USD" in posting.error
        assert "Invoice + payment" in posting.error and "Stores to post" in posting.error
    journals = xero.documents("ManualJournals")
    # Only the US-dollar store's days are in the books; none booked CAD figures as USD.
    assert len(journals) == len(usd)
    assert not any(" (Canada) sales of " in j["Narration"] for j in journals)
    # Shown like the other holds: the dashboard's held count and the postings list.
    assert _held_count(owner_client, org) == len(cad)
    page = html.unescape(owner_client.get(HELD_URL.format(slug=org.slug)).content.decode())
    assert page.count('<tr id="posting-') == len(cad)
    assert page.count("Held: Currency the ledger does not take") == len(cad)


def test_a_cad_day_is_held_then_posts_as_converted_invoices_once_they_are_chosen(
    org_a, shipstation, settings, xero, xero_settings, owner_client
):
    ledger, stores, cad, usd = _setup(org_a, shipstation, settings, xero, xero_settings)
    _assert_cad_days_held(org_a, xero, cad, usd, owner_client)

    # The merchant chooses per-order invoices: the held days' orders post as CAD invoices
    # that Xero converts, the held summaries are set aside with the reason.
    with org_scope(org_a.pk):
        row = PostingSettings.objects.get(ledger_connection=ledger)
        posting_settings_update(posting_settings=row, values={"document_type": "invoice_payment"})
        posting_drain(ledger_connection_id=ledger.pk)
        for posting in cad:
            posting.refresh_from_db()
            assert posting.status == "skipped"
            assert "no longer post daily summaries" in posting.error
    cad_orders = [
        o
        for o in rb.shipstation(shipstation, "orders", "orders", rb.CAD_ACCOUNT)
        if o["orderStatus"] == "shipped" and rb.day(o, org_a.tzinfo, "orderDate") < _today(org_a)
    ]
    invoices = [i for i in xero.documents("Invoices") if i["Type"] == "ACCREC"]
    assert invoices and {i["CurrencyCode"] for i in invoices} == {"CAD"}
    assert sorted(rb.money(i["Total"]) for i in invoices) == sorted(
        rb.money(o["amountPaid"]) for o in cad_orders if rb.money(o["amountPaid"])
    )
    for invoice in invoices:
        assert invoice["CurrencyRate"] == Decimal("1.360000")  # converted by Xero
        assert invoice["Status"] == "PAID"
    for payment in xero.documents("Payments"):
        assert payment["BankAmount"] == rb.money(payment["Amount"] / Decimal("1.36"))
    assert _held_count(owner_client, org_a) == 0
    assert len(xero.documents("ManualJournals")) == len(usd)  # the USD days stay as posted


def test_a_cad_day_is_held_then_left_out_once_its_store_is_not_posted(
    org_a, shipstation, settings, xero, xero_settings, owner_client
):
    ledger, stores, cad, usd = _setup(org_a, shipstation, settings, xero, xero_settings)
    _assert_cad_days_held(org_a, xero, cad, usd, owner_client)

    # The merchant posts only the US-dollar store to this organisation.
    with org_scope(org_a.pk):
        usd_store_ids = list(
            SourceStore.objects.filter(connection=stores[0]).values_list("pk", flat=True)
        )
        row = PostingSettings.objects.get(ledger_connection=ledger)
        posting_settings_update(posting_settings=row, values={"store_ids": usd_store_ids})
        posting_drain(ledger_connection_id=ledger.pk)
        for posting in cad:
            posting.refresh_from_db()
            assert posting.status == "skipped", posting.error
    assert _held_count(owner_client, org_a) == 0
    assert len(xero.documents("ManualJournals")) == len(usd)
    assert [i for i in xero.documents("Invoices") if i["Type"] == "ACCREC"] == []


def _today(org) -> str:
    from django.utils import timezone

    return timezone.now().astimezone(org.tzinfo).date().isoformat()
