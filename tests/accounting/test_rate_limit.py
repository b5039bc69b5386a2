"""The shared QBO limits: requests per window and concurrent requests per realm, as the
stand-in counts them. Windows are scaled down (20 per 2 s) so the test runs in seconds; the
production budget is the same code with 500 per 60 s."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from accounting.models import Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


def _drain_in_threads(ledger, n: int) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        from django.db import connection

        try:
            with org_scope(ledger.organization_id):
                posting_drain(ledger_connection_id=ledger.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []


def _orders(org, n):
    return [
        make_order(org, lines=[("SKU-1", "Widget", 1, "9.99", False)], customer_name="Repeat Buyer")
        for _ in range(n)
    ]


def test_many_postings_never_exceed_the_realms_rate_or_concurrency(org_a, qbo, qbo_settings):
    qbo_settings.QBO_RATE_LIMIT_PER_MINUTE = 20
    qbo_settings.QBO_RATE_LIMIT_WINDOW_SECONDS = 2.0
    qbo.set_rate_limit(20, 2.0)
    qbo.set_concurrency_limit(10)
    qbo.set_latency(0.05)
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 60)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])

    _drain_in_threads(ledger, 14)

    with org_scope(org_a.pk):
        assert Counter(Posting.objects.values_list("status", flat=True)) == Counter(posted=60)
    stats = qbo.stats()
    assert stats["throttled"] == 0
    assert qbo.max_requests_in_window(qbo.realm_id, 2.0) <= 20
    assert stats["max_concurrent"] <= 10
    assert stats["requests_admitted"] >= 60
    assert len(qbo.documents("salesreceipt")) == 60


def test_a_429_stops_every_worker_for_the_realm_then_all_post_once(org_a, qbo, qbo_settings):
    # The stand-in allows less than we think we may send: it answers 429 (XML), we wait.
    qbo_settings.QBO_RATE_LIMIT_PER_MINUTE = 1000
    qbo_settings.QBO_THROTTLE_WAIT_SECONDS = 1.0
    qbo.set_rate_limit(8, 1.0)
    ledger = connect_ledger(org_a, qbo)
    orders = _orders(org_a, 25)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    for _ in range(40):
        _drain_in_threads(ledger, 4)
        with org_scope(org_a.pk):
            if Posting.objects.filter(status="posted").count() == 25:
                break
        import time

        time.sleep(0.5)
    with org_scope(org_a.pk):
        statuses = Counter(Posting.objects.values_list("status", flat=True))
        attempts = max(Posting.objects.values_list("attempts", flat=True))
    assert statuses == Counter(posted=25)
    assert qbo.stats()["throttled"] > 0
    assert attempts == 1  # throttling is waited out, not counted as a failed attempt
    numbers = Counter(r["DocNumber"] for r in qbo.documents("salesreceipt"))
    assert len(numbers) == 25 and set(numbers.values()) == {1}
