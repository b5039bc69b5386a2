"""Xero's limits shared by every worker, as the stand-in counts them: requests per window,
requests at once, its 429s believed, and the daily limit that pauses posting (the Accounting
tab says until when) and resumes it. Windows are scaled down (seconds instead of a minute and
a day) so the tests run in seconds; production is the same code with 60/min and 5,000/day."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from accounting.models import Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order
from tests.accounting.xero_support import connect_xero
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


def _orders(org, n: int, prefix: str = "") -> list:
    return [
        make_order(
            org,
            lines=[("SKU-1", "Widget", 1, "9.99", False)],
            customer_name="Repeat Buyer",
            customer_email="repeat@example.com",
            number=f"{prefix}{1000 + i}",
        )
        for i in range(n)
    ]


def _statuses(org) -> Counter:
    with org_scope(org.pk):
        return Counter(Posting.objects.values_list("status", flat=True))


def test_many_postings_never_exceed_the_organisations_rate_or_concurrency(
    org_a, xero, xero_settings
):
    xero_settings.XERO_RATE_LIMIT_PER_MINUTE = 10
    xero_settings.XERO_RATE_LIMIT_WINDOW_SECONDS = 2.0
    xero_settings.XERO_BATCH_SIZE = 2
    xero_settings.ACCOUNTING_POSTING_CLAIM_BATCH = 4
    xero.set_limits(per_minute=10, minute_seconds=2.0, concurrent=5)
    xero.set_latency(0.05)
    ledger = connect_xero(org_a, xero)
    orders = _orders(org_a, 40)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])

    _drain_in_threads(ledger, 8)

    assert _statuses(org_a) == Counter(posted=40)
    stats = xero.stats(T)
    assert stats["throttled"] == 0
    assert stats["max_requests_per_minute"] <= 10  # per 2-second window here
    assert stats["max_concurrent"] <= 5
    assert stats["requests_admitted"] >= 40  # 20 invoice PUTs and 20 payment PUTs at least
    numbers = Counter(i["InvoiceNumber"] for i in xero.documents("Invoices"))
    assert len(numbers) == 40 and set(numbers.values()) == {1}


def test_xeros_429_stops_every_worker_then_each_document_posts_once(org_a, xero, xero_settings):
    # Xero allows less than we believe we may send: it answers 429, every worker waits (and
    # its X-MinLimit-Remaining brings our count down to its own).
    xero_settings.XERO_BATCH_SIZE = 2
    xero_settings.XERO_RATE_LIMIT_PER_MINUTE = 1000
    xero_settings.XERO_RATE_LIMIT_WINDOW_SECONDS = 1.0
    xero.set_limits(per_minute=4, minute_seconds=1.0)
    xero_settings.ACCOUNTING_POSTING_CLAIM_BATCH = 2
    ledger = connect_xero(org_a, xero)
    orders = _orders(org_a, 16)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    # Another client of the same app has just spent this second's budget: our first
    # request meets Xero's 429, which we believe.
    other = xero.issue_tokens()
    for _ in range(4):
        requests.get(
            f"{xero.api_base_url}/Organisation",
            headers={"Authorization": f"Bearer {other['access_token']}", "xero-tenant-id": T},
            timeout=5,
        )
    for _ in range(60):
        _drain_in_threads(ledger, 3)
        if _statuses(org_a) == Counter(posted=16):
            break
        time.sleep(0.3)
    assert _statuses(org_a) == Counter(posted=16)
    assert xero.stats(T)["throttled"] > 0
    with org_scope(org_a.pk):
        assert set(Posting.objects.values_list("attempts", flat=True)) <= {1, 2}
    numbers = Counter(i["InvoiceNumber"] for i in xero.documents("Invoices"))
    assert len(numbers) == 16 and set(numbers.values()) == {1}
    payments = Counter(p["Invoice"]["InvoiceNumber"] for p in xero.documents("Payments"))
    assert len(payments) == 16 and set(payments.values()) == {1}


def test_daily_limit_pauses_posting_says_so_and_resumes(owner_client, org_a, xero, xero_settings):
    xero_settings.XERO_DAY_LIMIT = 6
    xero_settings.XERO_DAY_WINDOW_SECONDS = 5.0
    xero_settings.XERO_BATCH_SIZE = 2
    ledger = connect_xero(org_a, xero, customer_strategy="per_store", item_match_sku=False)
    orders = _orders(org_a, 6)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)
    # Accounts, the store's contact (look-up, creation) and 3 PUTs of 2 invoices: the day's
    # 6 requests. The payments wait; the invoices are in Xero and are not sent again.
    assert len(xero.requests_log(T)) == 6
    assert len(xero.documents("Invoices")) == 6 and xero.documents("Payments") == []
    assert _statuses(org_a) == Counter(pending=6)
    with org_scope(org_a.pk):
        assert all(p.sent_at is not None for p in Posting.objects.all())
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert 'id="posting-paused"' in page
    assert "Posting is paused until " in page
    assert "today's limit of requests to Xero is spent." in page
    # While paused, a drain claims nothing and sends nothing.
    with org_scope(org_a.pk):
        assert posting_drain(ledger_connection_id=ledger.pk) == 0
    assert len(xero.requests_log(T)) == 6

    time.sleep(5.2)
    for _ in range(10):
        with org_scope(org_a.pk):
            Posting.objects.update(next_attempt_at=None)
            posting_drain(ledger_connection_id=ledger.pk)
        if _statuses(org_a) == Counter(posted=6):
            break
        time.sleep(5.2)
    assert _statuses(org_a) == Counter(posted=6)
    assert (
        'id="posting-paused"'
        not in owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    )
    numbers = Counter(i["InvoiceNumber"] for i in xero.documents("Invoices"))
    assert len(numbers) == 6 and set(numbers.values()) == {1}
    assert all(i["Status"] == "PAID" for i in xero.documents("Invoices"))
    payments = Counter(p["Invoice"]["InvoiceNumber"] for p in xero.documents("Payments"))
    assert len(payments) == 6 and set(payments.values()) == {1}


def test_xeros_day_429_pauses_posting_too(owner_client, org_a, xero, xero_settings):
    xero.set_limits(per_day=3, day_seconds=3600)
    ledger = connect_xero(org_a, xero, customer_strategy="per_store", item_match_sku=False)
    orders = _orders(org_a, 2)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    # Another client of the app spent the organisation's day before Unify's first request.
    other = xero.issue_tokens()
    for _ in range(3):
        requests.get(
            f"{xero.api_base_url}/Organisation",
            headers={"Authorization": f"Bearer {other['access_token']}", "xero-tenant-id": T},
            timeout=5,
        )
    with org_scope(org_a.pk):
        posting_drain(ledger_connection_id=ledger.pk)
        postings = list(Posting.objects.all())
    assert {p.status for p in postings} == {"pending"}
    assert xero.stats(T)["throttled"] == 1  # believed at once: nothing more was sent
    assert all("daily limit" in p.events.last().message for p in postings)
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert 'id="posting-paused"' in page


def test_remaining_day_header_pauses_before_xero_refuses(owner_client, org_a, xero, xero_settings):
    # Xero counts 5 a day here, Unify believes 5,000: X-DayLimit-Remaining tells it otherwise.
    xero.set_limits(per_day=5, day_seconds=3600)
    ledger = connect_xero(org_a, xero, customer_strategy="per_store", item_match_sku=False)
    orders = _orders(org_a, 8)
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)
    assert xero.stats(T)["throttled"] == 0 and len(xero.requests_log(T)) == 5
    assert (
        'id="posting-paused"' in owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    )


def test_remaining_headers_align_the_count_but_never_a_limiter_turned_off(xero_settings):
    import redis
    from django.conf import settings

    from accounting.ledgers.xero import limits

    key = f"unify:rl:{limits.minute_key(T)}:log"
    client = redis.Redis.from_url(settings.REDIS_URL)
    limits.observe(T, {"X-MinLimit-Remaining": "5"})
    assert client.zcard(key) == 55  # Xero counted 55 we did not: they now count here too
    limits.reset(T)
    # A limiter turned off (a budget beyond any of Xero's) is never aligned: aligning it
    # would record a million requests in one step and hold Redis meanwhile.
    xero_settings.XERO_RATE_LIMIT_PER_MINUTE = 1_000_000
    limits.observe(T, {"X-MinLimit-Remaining": "5"})
    assert client.zcard(key) == 0
