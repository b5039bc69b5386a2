"""Orders ShipStation lists without items but with a total (a real recorded response: a
shipped order with ``items: []`` and ``orderTotal`` 7.0, agritheory/shipstation-client
``tests/api_data.py``): imported with the total as their goods, posted as one sale line on the
default item. Stand-in over HTTP, PostgreSQL, the QBO stand-in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.documents import build_sale_document, sale_amounts
from accounting.services.engine import posting_drain
from sales.models import Order, SyncStatus
from tests.accounting.conftest import connect_ledger
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def _import(org, ss_account, **order):
    created = ss_account.add_order(SS_KEY, status="shipped", items=[], **order)
    connection = make_connection(org)
    run = run_sync(org, connection)
    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    with org_scope(org.pk):
        return Order.objects.get(external_id=str(created["orderId"])), connection, run


def test_an_order_without_items_is_imported_with_its_total_as_its_goods(ss_account, org_a):
    order, _connection, _run = _import(
        org_a, ss_account, order_total="7.00", shipping_amount="0.00"
    )

    wire = ss_account.get_order(SS_KEY, int(order.external_id))
    assert wire["items"] == [] and wire["orderTotal"] == Decimal("7.00")
    assert order.items_count == 0
    assert order.lines_subtotal == Decimal("7.00")
    assert order.order_total == order.amount_paid == Decimal("7.00")
    assert order.reconciliation_difference == Decimal("0.00")
    with org_scope(org_a.pk):
        assert not order.lines.exists()


def test_it_posts_as_one_line_on_the_default_item(ss_account, org_a, qbo, qbo_settings):
    order, connection, run = _import(
        org_a, ss_account, order_total="12.50", shipping_amount="4.00", amount_paid="12.50"
    )
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", default_item_id="1", item_match_sku=True,
        label_cost_mode="off",
    )  # fmt: skip

    with org_scope(org_a.pk):
        assert posting_after_import(org_a.pk, connection.pk, run.pk) == 1
        posting_drain(ledger_connection_id=ledger.pk)
        posting = Posting.objects.get(kind=PostingKind.SALE)
    assert posting.status == PostingState.POSTED, posting.error
    [receipt] = qbo.documents("salesreceipt")
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("12.50")
    sales = [line for line in receipt["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
    goods = [line for line in sales if line["SalesItemLineDetail"]["ItemRef"]["value"] == "1"]
    assert [Decimal(str(line["Amount"])) for line in goods] == [Decimal("8.50")]
    assert goods[0]["Description"] == "Items not listed in ShipStation"
    assert sum(Decimal(str(line["Amount"])) for line in sales) == Decimal("12.50")


def test_without_a_default_item_the_builder_says_what_to_set(ss_account, org_a, qbo, qbo_settings):
    from accounting.services.documents import DocumentBuildError, LedgerFacts

    order, _connection, _run = _import(
        org_a, ss_account, order_total="7.00", shipping_amount="0.00"
    )
    ledger = connect_ledger(org_a, qbo, default_item_id="", item_create_missing=False)
    with org_scope(org_a.pk):
        amounts = sale_amounts(order, [])
        assert [(line.name, amount) for line, amount in amounts.lines] == [
            ("Items not listed in ShipStation", Decimal("7.00"))
        ]
        assert amounts.difference == Decimal("0.00")
        with pytest.raises(DocumentBuildError, match="no default item is set"):
            build_sale_document(
                order=order,
                lines=[],
                posting_settings=ledger.posting_settings,
                facts=LedgerFacts(connection_id=ledger.pk, doc_number_max_length=21),
                document_number="SS-1",
                idempotency_key="k",
                source_reference=f"order:{order.pk}",
                refs={},
                tz=org_a.tzinfo,
            )
