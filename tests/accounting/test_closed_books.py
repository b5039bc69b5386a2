"""Issue 17, item 15 (first half): a QuickBooks company with a closing date refuses writes
dated on or before it (the stand-in as QuickBooks: 5010 "Account Period Closed"); Unify holds
the posting with a plain reason after one attempt, never retries it on its own, and posts it
on "Retry" once the books are open again. QBO stand-in over HTTP, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounting.models import Posting, PostingState
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain
from sales.models import PostingStatus
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db


def test_a_sale_dated_in_closed_books_is_held_with_the_reason_and_not_retried(
    org_a, qbo, qbo_ledger, scope_a
):
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-05-31"})
    order = make_order(
        org_a,
        lines=[("A", "Alpha", 1, "20.00", False)],
        order_date=datetime(2026, 5, 20, 15, 0, tzinfo=UTC),
    )
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    posting_drain(ledger_connection_id=qbo_ledger.pk)
    posting = Posting.objects.get(order=order)
    order.refresh_from_db()
    assert posting.status == PostingState.FAILED
    assert posting.attempts == 1
    assert "books are closed" in posting.error and "2026-05-31" in posting.error
    assert order.posting_status == PostingStatus.FAILED
    assert qbo.documents("salesreceipt") == []

    # Nothing is sent again on its own.
    requests_before = len(qbo.requests_log(qbo.realm_id))
    assert posting_drain(ledger_connection_id=qbo_ledger.pk) == 0
    assert len(qbo.requests_log(qbo.realm_id)) == requests_before

    # The merchant moves the closing date back; Retry posts it.
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-04-30"})
    posting_retry_failed(organization=org_a, posting_ids=[posting.pk])
    posting_drain(ledger_connection_id=qbo_ledger.pk)
    posting.refresh_from_db()
    assert posting.status == PostingState.POSTED, posting.error
    [receipt] = qbo.documents("salesreceipt")
    assert receipt["TxnDate"] == "2026-05-20"


def test_the_stand_in_refuses_changes_and_deletions_in_closed_books(
    org_a, qbo, qbo_ledger, scope_a
):
    order = make_order(
        org_a,
        lines=[("A", "Alpha", 1, "20.00", False)],
        order_date=datetime(2026, 5, 20, 15, 0, tzinfo=UTC),
    )
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    posting_drain(ledger_connection_id=qbo_ledger.pk)
    [receipt] = qbo.documents("salesreceipt")
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-05-31"})
    from sandbox.qbo.wire import QboFault

    with pytest.raises(QboFault) as refused:
        qbo.company().delete(
            "SalesReceipt", {"Id": receipt["Id"], "SyncToken": receipt["SyncToken"]}
        )
    # QuickBooks' closed-books answer is 5010 "Account Period Closed" (6210 is a duplicate
    # document number: issue 17 item 17, provider-facts).
    assert str(refused.value.code) == "5010"
    assert "Account Period Closed" in str(refused.value.message)
    with pytest.raises(QboFault):
        qbo.company().save(
            "SalesReceipt",
            {"Id": receipt["Id"], "SyncToken": receipt["SyncToken"], "sparse": True,
             "TxnDate": "2026-06-02"},
        )  # fmt: skip
    assert len(qbo.documents("salesreceipt")) == 1
