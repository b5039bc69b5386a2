"""Issue 17, item 6 (and issue 18 for Xero): tax a marketplace collected and remitted is not
the merchant's liability. An Amazon store (its ``marketplaceName`` read from ShipStation's
``/stores``) has "Marketplace collects tax" on by default: its sale posts without sales tax
liability, or nets the tax on a clearing account the merchant chose; never the tax booked and
then offset to the reconciliation account. A store without it keeps the difference visible.

ShipStation, QuickBooks Online and Xero stand-ins over HTTP, PostgreSQL, the settings page
through the view."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import PostingSettings
from accounting.services import posting_enqueue_orders
from accounting.services.connections import ledger_catalog_refresh
from accounting.services.engine import posting_drain
from connections.models import SourceStore
from sales.models import Order, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.accounting.differences_support import (
    make_connection,
    order_paid_without_tax,
    post_to_qbo,
    post_to_xero,
    posted,
    qbo_lines,
    store_ids,
    xero_account_code,
    xero_lines,
)
from tests.accounting.test_views import VALID
from tests.sales.support import run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal
CLEARING = {"Name": "Marketplace Tax Clearing", "AccountType": "Other Current Liability"}


def test_amazon_store_is_detected_from_shipstation_and_its_sale_posts_without_tax_in_qbo(
    ss_account, org_a, qbo, qbo_settings, owner_client
):
    amazon = order_paid_without_tax(ss_account, "Amazon")
    order, receipt = post_to_qbo(org_a, qbo, amazon)

    with org_scope(org_a.pk):
        markets = dict(SourceStore.objects.values_list("external_id", "marketplace_name"))
    assert markets[store_ids(ss_account)["Amazon"]] == "Amazon"  # read from /stores
    assert order.reconciliation_difference == D("-2.06")  # the Sales tab still shows it
    assert D(str(receipt["TotalAmt"])) == D("30.00")
    lines = qbo_lines(receipt)
    assert [amount for _d, amount, _i in lines] == [D("25.00"), D("5.00")]
    assert not any("Reconciliation" in d or "tax" in d.lower() for d, _a, _i in lines)
    assert D(str((receipt.get("TxnTaxDetail") or {}).get("TotalTax", 0))) == D("0")

    # The order page says what happened to the tax.
    page = owner_client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert 'data-testid="difference-treatment"' in page
    assert "Amazon collected and remitted the tax of 2.06" in page
    assert "no sales tax liability" in page


def test_a_store_without_marketplace_collection_keeps_the_difference_visible(
    ss_account, org_a, qbo, qbo_settings
):
    # A Shopify store paid without the tax: not a marketplace facilitator, so the tax stays
    # the merchant's and the difference is reconciled, never guessed to be a coupon.
    shopify = order_paid_without_tax(ss_account, "Shopify")
    _order, receipt = post_to_qbo(org_a, qbo, shopify)
    assert D(str(receipt["TotalAmt"])) == D("30.00")
    assert [(d, a) for d, a, _i in qbo_lines(receipt) if d.startswith("Reconciliation")] == [
        ("Reconciliation difference (paid 30.00, lines give 32.06)", D("-2.06"))
    ]
    assert not any(line.get("DetailType") == "DiscountLineDetail" for line in receipt["Line"])


def test_marketplace_tax_nets_on_the_chosen_clearing_account_in_qbo(
    ss_account, org_a, qbo, qbo_settings
):
    clearing = qbo.add_document("account", CLEARING)
    amazon = order_paid_without_tax(ss_account, "Amazon")
    _order, receipt = post_to_qbo(
        org_a,
        qbo,
        amazon,
        marketplace_tax_treatment="clearing",
        marketplace_tax_account_id=clearing["Id"],
    )
    assert D(str(receipt["TotalAmt"])) == D("30.00")
    lines = qbo_lines(receipt)
    tax_lines = [(d, a, i) for d, a, i in lines if "Amazon" in d]
    assert [(d, a) for d, a, _i in tax_lines] == [
        ("Sales tax collected by Amazon", D("2.06")),
        ("Sales tax remitted by Amazon", D("-2.06")),
    ]
    item = qbo.document("item", tax_lines[0][2])
    assert item["IncomeAccountRef"]["value"] == clearing["Id"]
    assert tax_lines[0][2] == tax_lines[1][2]
    assert not any("Reconciliation" in d for d, _a, _i in lines)


def _checked(page: str, name_attr: str) -> bool:
    start = page.index(name_attr)
    tag = page[page.rindex("<input", 0, start) : page.index(">", start)]
    return " checked" in tag


def test_the_settings_page_turns_a_store_off_and_chooses_the_clearing_account(
    ss_account, org_a, qbo, qbo_settings, owner_client
):
    clearing = qbo.add_document("account", CLEARING)
    connection = make_connection(org_a)
    ledger = connect_ledger(org_a, qbo, trigger="manual", reconciliation_enabled=True)
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    with org_scope(ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=ledger)
    with org_scope(org_a.pk):
        stores = {s.marketplace_name: s.pk for s in SourceStore.objects.filter(active=True)}
    url = f"/o/{org_a.slug}/accounting/settings/"

    page = owner_client.get(url).content.decode()
    amazon_box = f'name="marketplace_tax_store_{stores["Amazon"]}"'
    shopify_box = f'name="marketplace_tax_store_{stores["Shopify"]}"'
    # On by default for the marketplace, off for the web store.
    assert _checked(page, amazon_box) and not _checked(page, shopify_box)
    assert f'<option value="{clearing["Id"]}">Marketplace Tax Clearing</option>' in page

    ps = PostingSettings.all_orgs.get(ledger_connection=ledger)
    data = dict(
        VALID,
        reconciliation_enabled="on",
        reconciliation_account_id="92",
        marketplace_tax_section="1",
        marketplace_tax_treatment="clearing",
    )
    # Netting without a clearing account is refused with the reason.
    response = owner_client.post(url, data)
    assert response.status_code == 200
    assert "Choose the clearing account for tax the marketplace collected." in (
        response.content.decode()
    )
    # Amazon's box left unticked: the merchant says that tax is theirs.
    response = owner_client.post(url, dict(data, marketplace_tax_account_id=clearing["Id"]))
    assert response.status_code == 302
    ps.refresh_from_db()
    assert ps.marketplace_tax_treatment == "clearing"
    assert ps.marketplace_tax_account_id == clearing["Id"]
    # Every store saved explicitly (the inactive one too), Amazon's now off.
    assert ps.marketplace_tax_by_store[str(stores["Amazon"])] is False
    assert set(ps.marketplace_tax_by_store.values()) == {False}
    assert not _checked(owner_client.get(url).content.decode(), amazon_box)

    # An Amazon order now keeps its difference on the reconciliation account.
    amazon = order_paid_without_tax(ss_account, "Amazon")
    assert run_sync(org_a, connection).status == SyncStatus.SUCCEEDED
    with org_scope(org_a.pk):
        order = Order.objects.get(external_id=str(amazon["orderId"]))
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        posting_drain(ledger_connection_id=ledger.pk)
    _order, posting = posted(org_a, amazon)
    lines = qbo_lines(qbo.document("salesreceipt", posting.external_id))
    assert [a for d, a, _i in lines if d.startswith("Reconciliation")] == [D("-2.06")]
    assert not any("Amazon" in d for d, _a, _i in lines)

    # Ticked again on the page: saved on.
    ticked = {f"marketplace_tax_store_{stores['Amazon']}": "on"}
    response = owner_client.post(
        url, dict(data, marketplace_tax_account_id=clearing["Id"], **ticked)
    )
    assert response.status_code == 302
    ps.refresh_from_db()
    assert ps.marketplace_tax_by_store[str(stores["Amazon"])] is True


@pytest.mark.parametrize("treatment", ["exclude", "clearing"])
def test_xero_posts_marketplace_tax_the_same_way(ss_account, org_a, xero, xero_settings, treatment):
    amazon = order_paid_without_tax(ss_account, "Amazon")
    invoice = post_to_xero(
        org_a,
        xero,
        amazon,
        marketplace_tax_treatment=treatment,
        marketplace_tax_account_id=xero_account_code(xero, "850"),
    )
    assert invoice["Total"] == D("30.00") and invoice["Status"] == "PAID"
    assert invoice.get("TotalTax", D("0")) == D("0")
    lines = xero_lines(invoice)
    codes = [code for _d, _a, code in lines]
    assert "820" not in codes and "870" not in codes  # no sales tax, no reconciliation
    if treatment == "exclude":
        assert [a for _d, a, _c in lines] == [D("25.00"), D("5.00")]
    else:
        assert [(d, a, c) for d, a, c in lines if c == "850"] == [
            ("Sales tax collected by Amazon", D("2.06"), "850"),
            ("Sales tax remitted by Amazon", D("-2.06"), "850"),
        ]


def test_xero_store_without_collection_reconciles_the_difference(
    ss_account, org_a, xero, xero_settings
):
    shopify = order_paid_without_tax(ss_account, "Shopify")
    invoice = post_to_xero(org_a, xero, shopify)
    assert invoice["Total"] == D("30.00")
    assert [a for _d, a, c in xero_lines(invoice) if c == "870"] == [D("-2.06")]
