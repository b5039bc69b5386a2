"""A label voided after its cost was posted: the expense or bill is deleted from QuickBooks
once (the stand-in over HTTP through python-quickbooks), or stays listed when it cannot be."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting, PostingEvent, PostingKind, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import (
    posting_after_import,
    posting_drain,
    posting_flag_changes,
    posting_update_changed,
)
from sales.models import ShippingCost
from sandbox.qbo import ACCOUNT_IDS
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order, make_store_connection
from tests.factories import ShippingCostFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def _drain(ledger) -> int:
    with org_scope(ledger.organization_id):
        return posting_drain(ledger_connection_id=ledger.pk)


def _post_label(org, ledger, cost: str = "6.10"):
    """An order with one label cost, both posted. Returns (store, order, label posting)."""
    store = make_store_connection(org)
    order = make_order(org, lines=[("A", "Alpha", 1, "10.00", False)], connection=store)
    label = ShippingCostFactory(organization=org, connection=store, order=order, cost=Decimal(cost))
    posting_enqueue_orders(organization=org, order_ids=[order.pk])
    _drain(ledger)
    posting = Posting.objects.get(kind=PostingKind.SHIPPING_COST, shipping_cost=label)
    assert posting.status == PostingState.POSTED
    return store, order, posting


def _void(posting) -> None:
    """What the import does when ShipStation lists the label as voided."""
    ShippingCost.objects.filter(pk=posting.shipping_cost_id).update(
        voided=True, void_date=timezone.now()
    )


def _deletes(qbo, entity: str) -> list:
    return [
        r
        for r in qbo.requests_log(qbo.realm_id)
        if r.method == "POST" and r.path.endswith(f"/{entity}") and "operation=delete" in r.query
    ]


def _update_voided(org, ledger, store, posting) -> None:
    """The import flags it, then "Update selected in the ledger" on the posting log."""
    _void(posting)
    posting_after_import(org.pk, store.pk, None)
    posting.refresh_from_db()
    assert posting.needs_review is True
    assert "voided" in posting.error
    batch = posting_update_changed(organization=org, posting_ids=[posting.pk])
    assert batch.total == 1
    _drain(ledger)
    posting.refresh_from_db()


def test_voided_label_expense_is_deleted_from_quickbooks_once(org_a, qbo, qbo_ledger, scope_a):
    store, order, posting = _post_label(org_a, qbo_ledger)
    (purchase,) = qbo.documents("purchase")
    assert posting.external_id == purchase["Id"]
    (receipt,) = qbo.documents("salesreceipt")

    _update_voided(org_a, qbo_ledger, store, posting)

    assert qbo.documents("purchase") == []
    assert len(_deletes(qbo, "purchase")) == 1
    assert (posting.status, posting.needs_review, posting.external_id) == (
        PostingState.REMOVED,
        False,
        purchase["Id"],
    )
    assert posting.error == "Removed from QuickBooks Online: the label was voided."
    assert posting.answer["Purchase"]["status"] == "Deleted"
    assert list(PostingEvent.objects.filter(posting=posting).values_list("to_status", "message"))[
        -2:
    ] == [
        ("pending", "Removal from the ledger queued: the label was voided."),
        ("removed", "Removed from QuickBooks Online: the label was voided."),
    ]
    # The sale is not touched.
    assert [r["Id"] for r in qbo.documents("salesreceipt")] == [receipt["Id"]]
    sale = Posting.objects.get(order=order, kind=PostingKind.SALE)
    assert (sale.status, sale.needs_review) == (PostingState.POSTED, False)

    # Again: the next import, another update and a drain change nothing and send nothing.
    requests_before = len(qbo.requests_log(qbo.realm_id))
    updated_at = posting.updated_at
    assert posting_flag_changes(organization=org_a, ledger=qbo_ledger) == 0
    assert posting_after_import(org_a.pk, store.pk, None) == 0
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]) is None
    assert posting_enqueue_orders(organization=org_a, order_ids=[order.pk]).total == 0
    assert _drain(qbo_ledger) == 0
    posting.refresh_from_db()
    assert (posting.status, posting.updated_at) == (PostingState.REMOVED, updated_at)
    assert len(qbo.requests_log(qbo.realm_id)) == requests_before
    assert len(_deletes(qbo, "purchase")) == 1


def test_voided_label_posted_as_bill_without_payment_is_deleted(org_a, qbo, qbo_settings, scope_a):
    ledger = connect_ledger(org_a, qbo, label_cost_mode="bill")
    store, _order, posting = _post_label(org_a, ledger, "12.40")
    (bill,) = qbo.documents("bill")
    # The settings changed since: the posted kind decides what is deleted.
    ledger.posting_settings.label_cost_mode = "expense"
    ledger.posting_settings.save()

    _update_voided(org_a, ledger, store, posting)

    assert qbo.documents("bill") == []
    assert len(_deletes(qbo, "bill")) == 1
    assert _deletes(qbo, "purchase") == []
    assert (posting.status, posting.needs_review, posting.external_id) == (
        PostingState.REMOVED,
        False,
        bill["Id"],
    )


def test_voided_label_bill_with_a_payment_stays_flagged_with_the_reason(
    org_a, qbo, qbo_settings, scope_a
):
    ledger = connect_ledger(org_a, qbo, label_cost_mode="bill")
    store, _order, posting = _post_label(org_a, ledger, "12.40")
    (bill,) = qbo.documents("bill")
    # The bookkeeper paid the bill in QuickBooks.
    payment = qbo.add_document(
        "BillPayment",
        {
            "VendorRef": bill["VendorRef"],
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": ACCOUNT_IDS["Checking"]}},
            "TotalAmt": "12.40",
            "Line": [{"Amount": "12.40", "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )

    _update_voided(org_a, ledger, store, posting)

    assert [b["Id"] for b in qbo.documents("bill")] == [bill["Id"]]
    assert (posting.status, posting.needs_review, posting.external_id) == (
        PostingState.POSTED,
        True,
        bill["Id"],
    )
    assert "refused to delete the expense" in posting.error
    assert "bill payments applied" in posting.error
    assert "payment deleted first" in posting.error
    last = PostingEvent.objects.filter(posting=posting).last()
    assert (last.to_status, last.message) == ("posted", posting.error)

    # Once the payment is deleted in QuickBooks, the same update removes the bill.
    qbo.company().delete("BillPayment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})
    current = qbo.document("bill", bill["Id"])
    assert current["Balance"] == Decimal("12.40")
    assert posting_update_changed(organization=org_a, posting_ids=[posting.pk]).total == 1
    _drain(ledger)
    posting.refresh_from_db()
    assert qbo.documents("bill") == []
    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False)


def test_lost_answer_of_the_delete_counts_as_removed_on_the_retry(org_a, qbo, qbo_ledger, scope_a):
    store, _order, posting = _post_label(org_a, qbo_ledger)
    qbo.inject_after_commit_faults("server_error", count=1, path_prefix="/v3/")

    _update_voided(org_a, qbo_ledger, store, posting)
    # The delete happened; its answer was lost: waiting for a retry, still listed.
    assert qbo.documents("purchase") == []
    assert posting.status == PostingState.PENDING
    assert posting.sent_at is not None

    Posting.objects.filter(pk=posting.pk).update(next_attempt_at=None)
    assert _drain(qbo_ledger) == 1
    posting.refresh_from_db()
    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False)
    assert posting.error == (
        "Removed from QuickBooks Online: the label was voided (the document was already gone)."
    )
    assert len(_deletes(qbo, "purchase")) == 1


def test_expense_deleted_by_hand_in_quickbooks_counts_as_removed(org_a, qbo, qbo_ledger, scope_a):
    store, _order, posting = _post_label(org_a, qbo_ledger)
    (purchase,) = qbo.documents("purchase")
    qbo.company().delete("Purchase", {"Id": purchase["Id"], "SyncToken": purchase["SyncToken"]})

    _update_voided(org_a, qbo_ledger, store, posting)

    assert posting.status == PostingState.REMOVED
    assert _deletes(qbo, "purchase") == []


def test_expense_renumbered_in_quickbooks_is_left_alone(org_a, qbo, qbo_ledger, scope_a):
    store, _order, posting = _post_label(org_a, qbo_ledger)
    (purchase,) = qbo.documents("purchase")
    company = qbo.company()
    company.save(
        "Purchase",
        {
            "Id": purchase["Id"],
            "SyncToken": purchase["SyncToken"],
            "sparse": True,
            "DocNumber": "X1",
        },
    )

    _update_voided(org_a, qbo_ledger, store, posting)

    assert [p["Id"] for p in qbo.documents("purchase")] == [purchase["Id"]]
    assert (posting.status, posting.needs_review) == (PostingState.POSTED, True)
    assert "leaves it alone" in posting.error


def test_removal_shows_on_the_posting_log_detail_and_order_page(
    client, owner_of_a, org_a, qbo, qbo_ledger, scope_a
):
    store, order, posting = _post_label(org_a, qbo_ledger)
    _update_voided(org_a, qbo_ledger, store, posting)
    client.force_login(owner_of_a.user)
    base = f"/o/{org_a.slug}"

    log = client.get(f"{base}/accounting/postings/?status=removed").content.decode()
    assert f'id="posting-{posting.pk}"' in log
    assert "Removed from the ledger" in log
    assert "Removed from QuickBooks Online: the label was voided." in log

    detail = client.get(f"{base}/accounting/postings/{posting.pk}/").content.decode()
    assert 'id="posting-removed"' in detail
    assert f"(id {posting.external_id})" in detail
    assert "Removed from QuickBooks Online: the label was voided." in detail

    page = client.get(f"{base}/sales/{order.pk}/").content.decode()
    assert "Removed from the ledger" in page
    assert "Removed from QuickBooks Online: the label was voided." in page


def test_update_of_another_organizations_voided_label_does_nothing(
    client, owner_of_a, org_a, org_b, qbo, qbo_settings
):
    ledger_a = connect_ledger(org_a, qbo)
    ledger_b = connect_ledger(org_b, qbo)
    with org_scope(org_b.pk):
        store_b, _order_b, posting_b = _post_label(org_b, ledger_b)
        _void(posting_b)
        assert posting_flag_changes(organization=org_b, ledger=ledger_b) == 1
    purchases = qbo.documents("purchase")

    client.force_login(owner_of_a.user)
    response = client.post(
        f"/o/{org_a.slug}/accounting/postings/update/", {"posting_id": [posting_b.pk]}
    )
    assert response.status_code == 302
    with org_scope(org_a.pk):
        assert posting_update_changed(organization=org_a, posting_ids=[posting_b.pk]) is None
        assert _drain(ledger_a) == 0
    with org_scope(org_b.pk):
        assert _drain(ledger_b) == 0
        posting_b.refresh_from_db()
    assert (posting_b.status, posting_b.needs_review, posting_b.revision) == (
        PostingState.POSTED,
        True,
        0,
    )
    assert qbo.documents("purchase") == purchases
    assert _deletes(qbo, "purchase") == []
    assert client.get(f"/o/{org_a.slug}/accounting/postings/{posting_b.pk}/").status_code == 404


def test_ledgers_without_removal_refuse_it_by_default():
    from accounting.ledgers.base import DocumentKind, ExternalRef, LedgerAdapter, RemovalUnsupported

    def nothing(*args, **kwargs):
        return None

    class PostOnly(LedgerAdapter):  # implements what every adapter must, nothing more
        provider_key = "post-only"
        verify = fetch_catalog = find_document = nothing
        post_sale = post_expense = post_summary = deep_link = nothing

    with pytest.raises(RemovalUnsupported, match="post-only cannot remove posted documents"):
        PostOnly().remove(DocumentKind.EXPENSE, ExternalRef(external_id="101"))
