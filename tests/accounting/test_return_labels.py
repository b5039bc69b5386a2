"""Return labels (issue 17, item 4; issue 18 for Xero): ShipStation's ``isReturnLabel``
shipments are not outbound shipping. Imported from the ShipStation stand-in over HTTP, posted
to the QBO and Xero stand-ins over HTTP: to their own account (default the shipping expense
account, "Return label" on the line), in both label cost modes, exactly once; shown apart on
the order page; the account chosen on the settings page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting.models import Posting, PostingKind, PostingSettings, PostingState
from accounting.services import posting_after_import
from accounting.services.engine import posting_drain
from sales.models import Order, ShippingCost
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.conftest import connect_ledger
from tests.accounting.xero_support import connect_xero, xero_account
from tests.sales.support import SS_KEY, make_connection, run_sync
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

D = Decimal
OTHER_QBO_EXPENSE = "94"  # Uncategorized Expense


@pytest.fixture
def returned(ss_account):
    """A shipped order with its outbound label, then a return label bought for it."""
    order = ss_account.add_order(SS_KEY, status="awaiting_shipment", items=[
        {"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"},
    ], shipping_amount="5.00")  # fmt: skip
    outbound = ss_account.add_label(
        SS_KEY, order["orderId"], shipment_cost="4.25", insurance_cost="0.00"
    )
    back = ss_account.add_label(
        SS_KEY, order["orderId"], shipment_cost="6.10", insurance_cost="0.90", is_return=True
    )
    return {"order": order, "outbound": outbound, "return": back}


def _import_and_post(org, connection, ledger):
    run = run_sync(org, connection)
    with org_scope(org.pk):
        posting_after_import(org.pk, connection.pk, run.pk)
        posting_drain(ledger_connection_id=ledger.pk)
        postings = {
            p.shipping_cost.external_id: p
            for p in Posting.objects.filter(kind=PostingKind.SHIPPING_COST).select_related(
                "shipping_cost"
            )
        }
    assert postings and all(p.status == PostingState.POSTED for p in postings.values()), [
        p.error for p in postings.values()
    ]
    return postings


def _qbo_lines(document) -> list[tuple[str, str, Decimal]]:
    return [
        (
            line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"],
            line.get("Description", ""),
            D(str(line["Amount"])),
        )
        for line in document["Line"]
    ]


def test_the_stand_in_marks_return_labels_and_the_import_keeps_them_apart(
    ss_account, returned, org_a, owner_client
):
    assert returned["return"]["isReturnLabel"] is True
    assert returned["outbound"]["isReturnLabel"] is False
    connection = make_connection(org_a)
    run_sync(org_a, connection)
    with org_scope(org_a.pk):
        order = Order.objects.get(external_id=str(returned["order"]["orderId"]))
        back = ShippingCost.objects.get(external_id=str(returned["return"]["shipmentId"]))
    assert back.is_return and back.order_id == order.pk
    assert (order.label_cost_total, order.return_label_cost_total) == (D("4.25"), D("7.00"))

    page = owner_client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert page.count('data-testid="return-label-badge"') == 1
    assert "Return label" in page
    assert 'data-testid="outbound-label-total">4.25<' in page
    assert 'data-testid="return-label-total">7.00<' in page


@pytest.mark.parametrize("mode", ["expense", "bill"])
def test_qbo_return_label_defaults_to_the_shipping_expense_account_with_its_description(
    mode, ss_account, returned, org_a, qbo, qbo_settings
):
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a, qbo, trigger="after_import", label_cost_mode=mode, reconciliation_enabled=True
    )
    postings = _import_and_post(org_a, connection, ledger)

    entity = "purchase" if mode == "expense" else "bill"
    documents = {d["Id"]: d for d in qbo.documents(entity)}
    assert len(documents) == 2
    outbound = documents[postings[str(returned["outbound"]["shipmentId"])].external_id]
    back = documents[postings[str(returned["return"]["shipmentId"])].external_id]
    assert [(a, d.startswith("Shipping label")) for a, d, _ in _qbo_lines(outbound)] == [
        ("90", True)
    ]
    lines = _qbo_lines(back)
    assert [(a, amount) for a, _d, amount in lines] == [("90", D("6.10")), ("90", D("0.90"))]
    assert all(d.startswith("Return label") for _a, d, _amount in lines), lines
    assert D(str(back["TotalAmt"])) == D("7.00")

    # Exactly once: the next import and posting round sends nothing new.
    again = _import_and_post(org_a, connection, ledger)
    assert {k: p.pk for k, p in again.items()} == {k: p.pk for k, p in postings.items()}
    assert len(qbo.documents(entity)) == 2


def test_qbo_return_label_goes_to_the_account_chosen_for_it(
    ss_account, returned, org_a, qbo, qbo_settings
):
    connection = make_connection(org_a)
    ledger = connect_ledger(
        org_a,
        qbo,
        trigger="after_import",
        label_cost_mode="expense",
        reconciliation_enabled=True,
        return_label_account_id=OTHER_QBO_EXPENSE,
    )
    postings = _import_and_post(org_a, connection, ledger)
    purchases = {d["Id"]: d for d in qbo.documents("purchase")}
    outbound = purchases[postings[str(returned["outbound"]["shipmentId"])].external_id]
    back = purchases[postings[str(returned["return"]["shipmentId"])].external_id]
    assert {a for a, _d, _x in _qbo_lines(outbound)} == {"90"}
    assert {a for a, _d, _x in _qbo_lines(back)} == {OTHER_QBO_EXPENSE}
    assert sum(x for _a, _d, x in _qbo_lines(back)) == D("7.00")


@pytest.mark.parametrize("mode", ["expense", "bill"])
def test_xero_return_label_posts_apart_once_in_both_modes(
    mode, ss_account, returned, org_a, xero, xero_settings
):
    connection = make_connection(org_a)
    general = xero_account("freight", T)  # default: the shipping expense account
    overrides = {}
    if mode == "bill":
        # Chosen on the settings page: General Expenses (429).
        general = overrides["return_label_account_id"] = _xero_general_expenses()
    ledger = connect_xero(
        org_a, xero, trigger="after_import", label_cost_mode=mode, reconciliation_enabled=True,
        **overrides,
    )  # fmt: skip
    postings = _import_and_post(org_a, connection, ledger)

    if mode == "expense":
        documents = {d["BankTransactionID"]: d for d in xero.documents("BankTransactions")}
    else:
        documents = {d["InvoiceID"]: d for d in xero.documents("Invoices") if d["Type"] == "ACCPAY"}
    assert len(documents) == 2
    back = documents[postings[str(returned["return"]["shipmentId"])].external_id]
    outbound = documents[postings[str(returned["outbound"]["shipmentId"])].external_id]
    code = "429" if mode == "bill" else "425"
    assert [(x["AccountCode"], x["LineAmount"]) for x in back["LineItems"]] == [
        (code, D("6.10")),
        (code, D("0.90")),
    ]
    assert all(x["Description"].startswith("Return label") for x in back["LineItems"])
    assert [x["AccountCode"] for x in outbound["LineItems"]] == ["425"]
    assert outbound["LineItems"][0]["Description"].startswith("Shipping label")
    assert general  # the id the setting holds is the ledger's own

    again = _import_and_post(org_a, connection, ledger)
    assert set(again) == set(postings)
    if mode == "expense":
        assert len(xero.documents("BankTransactions")) == 2
    else:
        assert len([d for d in xero.documents("Invoices") if d["Type"] == "ACCPAY"]) == 2


def _xero_general_expenses() -> str:
    from sandbox.xero.seed import account_id

    return account_id(T, "429")


def test_the_settings_page_offers_and_saves_the_return_label_account(
    org_a, qbo_ledger, owner_client
):
    from accounting.services.connections import ledger_catalog_refresh
    from tests.accounting.test_views import VALID

    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    url = f"/o/{org_a.slug}/accounting/settings/"
    page = owner_client.get(url).content.decode()
    assert 'name="return_label_account_id"' in page
    assert "Return labels (postage to get goods back) are booked apart" in page
    response = owner_client.post(url, dict(VALID, return_label_account_id="999"))
    assert "Select a valid choice" in response.content.decode()
    response = owner_client.post(url, dict(VALID, return_label_account_id=OTHER_QBO_EXPENSE))
    assert response.status_code == 302
    ps = PostingSettings.all_orgs.get(ledger_connection=qbo_ledger)
    assert ps.return_label_account_id == OTHER_QBO_EXPENSE
    # Left empty: back to the default (the shipping expense account).
    owner_client.post(url, VALID)
    ps.refresh_from_db()
    assert ps.return_label_account_id == ""
