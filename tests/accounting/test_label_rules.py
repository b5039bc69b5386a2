"""Labels that are not an order's plain cost (issue 16, item 5), as ShipStation has them:
bought without an order (``orderId: null``), billed to the recipient or a third party
(``advancedOptions.billToParty``), shipped on a later day than they were bought. Stand-in
over HTTP, PostgreSQL, the QBO stand-in."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain
from sales.models import LabelStatus, Order, ShippingCost, SyncStatus
from sales.selectors import orderless_label_costs
from tests.accounting.conftest import connect_ledger
from tests.pages import as_shown
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(ss_account):
    paid = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[
        {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"},
    ], shipping_amount="5.00")  # fmt: skip
    own = ss_account.add_label(SS_KEY, paid["orderId"], shipment_cost="4.25", insurance_cost="0.00")
    third = ss_account.add_label(
        SS_KEY, paid["orderId"], shipment_cost="9.00", insurance_cost="0.00",
        bill_to_party="third_party",
    )  # fmt: skip
    other = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[
        {"sku": "CAP-1", "name": "Cap", "quantity": 2, "unitPrice": "7.50"},
    ], shipping_amount="0.00")  # fmt: skip
    recipient = ss_account.add_label(
        SS_KEY, other["orderId"], shipment_cost="11.00", insurance_cost="0.00",
        bill_to_party="recipient",
    )  # fmt: skip
    later_day = (date.today() + timedelta(days=3)).isoformat()
    quick = ss_account.add_orderless_label(SS_KEY, shipment_cost="6.50", ship_date=later_day)
    return {
        "paid": paid, "other": other, "own": own, "third": third, "recipient": recipient,
        "quick": quick, "later_day": later_day,
    }  # fmt: skip


def test_the_stand_in_answers_these_labels_as_shipstation_does(ss_account, labelled):
    quick = labelled["quick"]
    assert (quick["orderId"], quick["orderKey"], quick["orderNumber"]) == (None, None, None)
    assert quick["shipDate"] == labelled["later_day"] != quick["createDate"][:10]
    assert labelled["third"]["advancedOptions"]["billToParty"] == "third_party"
    assert labelled["recipient"]["advancedOptions"]["billToParty"] == "recipient"
    assert labelled["own"]["advancedOptions"]["billToParty"] is None


def test_labels_are_imported_and_counted_as_the_rules_say(
    ss_account,
    labelled,
    org_a,
    owner_client,
):
    connection = make_connection(org_a)
    run = run_sync(org_a, connection)
    assert run.status == SyncStatus.SUCCEEDED, run.error_detail

    with org_scope(org_a.pk):
        costs = {c.external_id: c for c in ShippingCost.objects.all()}
        paid = Order.objects.get(external_id=str(labelled["paid"]["orderId"]))
        other = Order.objects.get(external_id=str(labelled["other"]["orderId"]))
        summary = orderless_label_costs(organization=org_a, connection=connection)
    quick = costs[str(labelled["quick"]["shipmentId"])]
    assert (
        quick.order_id is None and quick.order_external_id == "" and quick.total == Decimal("6.50")
    )
    assert not quick.linked_to_order and not quick.billed_to_others
    assert quick.ship_date.isoformat() == labelled["later_day"]
    assert costs[str(labelled["third"]["shipmentId"])].billed_to_others
    # The order's label cost is what the merchant pays: the third-party label is not in it.
    assert paid.label_cost_total == Decimal("4.25")
    assert other.label_cost_total == Decimal("0.00")
    assert other.label_status == LabelStatus.HAS_LABEL  # shipped with a label all the same
    assert (summary.count, summary.total, summary.billed_to_others) == (1, Decimal("6.50"), 2)

    page = as_shown(owner_client, f"/o/{org_a.slug}/connections/{connection.pk}/")
    assert "1 label not linked to an order (6.50)" in page
    assert "2 labels billed to the recipient or a third party" in page
    detail = owner_client.get(f"/o/{org_a.slug}/sales/{paid.pk}/").content.decode()
    assert "Billed to the recipient or a third party, not counted" in detail


def test_the_ledger_gets_the_orderless_label_once_and_no_third_party_label(
    ss_account,
    labelled,
    org_a,
    qbo,
    qbo_settings,
):
    connection = make_connection(org_a)
    run = run_sync(org_a, connection)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode="expense", reconciliation_enabled=True
    )

    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        label_postings = list(Posting.objects.filter(kind=PostingKind.SHIPPING_COST))
        quick = ShippingCost.objects.get(external_id=str(labelled["quick"]["shipmentId"]))
        own = ShippingCost.objects.get(external_id=str(labelled["own"]["shipmentId"]))
    assert all(p.status == PostingState.POSTED for p in label_postings), [
        p.error for p in label_postings
    ]
    assert {p.shipping_cost_id for p in label_postings} == {quick.pk, own.pk}
    purchases = {p["Id"]: p for p in qbo.documents("purchase")}
    by_cost = {p.shipping_cost_id: purchases[p.external_id] for p in label_postings}
    assert Decimal(str(by_cost[quick.pk]["TotalAmt"])) == Decimal("6.50")
    assert "not linked to an order" in by_cost[quick.pk]["Line"][0]["Description"]
    # Booked on the day the label was bought, not the later ship date printed on it.
    bought = quick.create_date.astimezone(org_a.tzinfo).date().isoformat()
    assert by_cost[quick.pk]["TxnDate"] == bought != labelled["later_day"]
    assert sum(Decimal(str(p["TotalAmt"])) for p in purchases.values()) == Decimal("10.75")

    # Exactly once: the next import and posting round adds nothing.
    run2 = run_sync(org_a, connection)
    with org_scope(org_a.pk):
        posting_after_import(org_a.pk, connection.pk, run2.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        assert Posting.objects.filter(kind=PostingKind.SHIPPING_COST).count() == 2
    assert len(qbo.documents("purchase")) == len(purchases)
