"""The engine's side of an asynchronous ledger: a QuickBooks Desktop posting waits as
"queued" (its order not posted yet) until the Web Connector's answer is recorded, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounting.ledgers.base import PostingResult, ResultStatus
from accounting.models import Posting, PostingEvent, PostingState
from accounting.services import posting_enqueue_orders, posting_record_result
from accounting.services.engine import posting_drain
from sales.models import Order
from sandbox.qbwc import Company
from tests.accounting.factories import make_order
from tests.accounting.qbd.support import connect, map_settings
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def test_queued_posting_leaves_its_order_unposted_until_the_answer_is_recorded_once(org_a):
    credentials = connect(org_a)
    map_settings(credentials.connection, Company())
    when = timezone.now() - timedelta(hours=1)
    order = make_order(
        org_a, lines=[("A", "A", 1, "9.00", False)], order_date=when, payment_date=when
    )
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
        posting_drain(ledger_connection_id=credentials.connection.pk)
        posting = Posting.objects.get()
        assert posting.status == PostingState.QUEUED
        assert posting.answer["orders"] == [order.pk]
        assert Order.objects.get().posting_status == "not_posted"
        assert PostingEvent.objects.filter(posting=posting).last().message == (
            "Queued for QuickBooks Desktop."
        )

        result = PostingResult(status=ResultStatus.POSTED, external_id="1F-1", number="SS-1")
        assert posting_record_result(posting=posting, result=result) is True
        assert posting_record_result(posting=posting, result=result) is False
        assert posting_record_result(posting=posting, error="late refusal") is False

        posting.refresh_from_db()
        assert (posting.status, posting.external_id, posting.error) == ("posted", "1F-1", "")
        assert Order.objects.get().posting_status == "posted"
        assert PostingEvent.objects.filter(posting=posting, to_status="posted").count() == 1
