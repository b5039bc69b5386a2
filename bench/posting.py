"""Benchmark posting to QuickBooks Online, or to Xero with ``--ledger xero`` (see
``_posting_xero.py``). Not a test: prints ``name: value`` figures.

Seeds N shipped orders (a pool of 200 buyers and 50 SKUs, 1-3 lines, discounts, tax,
shipping) in its own database, connects an organization to the QBO stand-in (its own
process, every limit off), queues every order and runs the posting drains that the Celery
workers run (``accounting.services.engine.posting_drain``) in this process:

1. *sequential*: one drain. ``unify_ms_per_doc`` is the wall time minus the time the
   stand-in spent answering (the ``duration_ms`` of every request in its log), per
   document: our own cost (ORM, document building, python-quickbooks, HTTP client, shared
   limiter) - target <= 5 ms;
2. *parallel*: the same on a fresh organization with ``--threads`` drains at once (what
   several workers do): documents per second.

Then the limit: QuickBooks allows 500 requests per minute per company. From the requests
per document measured above, the least time 500/min allows for N documents is computed and
compared with our unlimited time: when ours is far below it, a real run is bounded by the
limit, not by Unify. Without ``--quick`` a short run under a scaled limit with the same rate
(50 requests per 6 s, stand-in and our limiter) confirms the achieved rate stays at it.

QuickBooks Desktop (``--ledger qbd``, or ``both``, the default): the same orders are posted
through the SOAP endpoint (Unify's WSGI app served on loopback in this process) by the Web
Connector simulator, whose company file runs every request. Figures: documents per second
through SOAP, Unify's own time per document (the time the simulator waited for Unify's
answers, per document; the company file's own processing is not in it), and the Web
Connector round trips (request messages) per 1,000 documents at ``QBD_REQUESTS_PER_MESSAGE``
requests per message.

    python bench/posting.py            # N = 10,000
    python bench/posting.py --quick    # N = 500 (under a minute)

Uses its own database, dropped and created again each run (``unify_bench_posting`` on
``BENCH_DATABASE_HOST_URL``, default ``postgres://postgres@127.0.0.1:5432``), and Redis
(``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/4``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import requests
from _posting_qbd import (  # noqa: F401 - re-exported
    QBD_ACCOUNTS,
    qbd_bench,
    serve_unify,
    server_figures,
)
from _support import ROOT, fresh_database, production_env, setup_django, start_sandbox

sys.path.insert(0, str(ROOT))

DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "unify_bench_posting")
TARGET_MS = 5.0
QBO_PER_MINUTE = 500


def bench_env(qbo_base: str) -> dict[str, str]:
    from sandbox.qbo.make_run import unify_settings

    return {
        **production_env(DB_NAME),
        **unify_settings(qbo_base),
        "QBO_RATE_LIMIT_PER_MINUTE": "100000000",
        "PYTHONPATH": str(ROOT),
        # The QuickBooks Desktop part serves the app itself, over plain HTTP on loopback.
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
    }


# --- the stand-in ---------------------------------------------------------------------------


class StandIn:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def new_company(self) -> str:
        answer = self.http.post(f"{self.base}/__sandbox__/qbo/companies", json={}, timeout=30)
        answer.raise_for_status()
        return answer.json()["realm_id"]

    def tokens(self, realm: str) -> dict:
        answer = self.http.post(
            f"{self.base}/__sandbox__/qbo/oauth/tokens", json={"realm_id": realm}, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def limits(self, **values) -> None:
        self.http.put(
            f"{self.base}/__sandbox__/qbo/limits", json=values, timeout=30
        ).raise_for_status()

    def rate_limit(self, limit: int | None, window: float = 60.0) -> None:
        if limit is None:
            self.http.delete(f"{self.base}/__sandbox__/rate-limit", timeout=30).raise_for_status()
        else:
            self.http.put(
                f"{self.base}/__sandbox__/rate-limit",
                json={"limit": limit, "window_seconds": window},
                timeout=30,
            ).raise_for_status()

    def requests_of(self, realm: str) -> list[dict]:
        answer = self.http.get(
            f"{self.base}/__sandbox__/requests", params={"key": realm}, timeout=120
        )
        answer.raise_for_status()
        return answer.json()["requests"]

    def stats(self, realm: str) -> dict:
        return self.http.get(
            f"{self.base}/__sandbox__/qbo/companies/{realm}/stats", timeout=30
        ).json()


# --- Unify ----------------------------------------------------------------------------------


def seed_orders(org, n: int) -> None:
    """``n`` shipped orders of ``org`` (in its scope): a pool of 200 buyers and 50 SKUs, 1-3
    lines, discounts, tax, shipping. The same orders for every ledger."""
    from django.utils import timezone

    from sales.models import Order, OrderLine

    rng = random.Random(7)
    now = timezone.now()
    orders, lines = [], []
    for i in range(n):
        buyer = rng.randrange(200)
        order = Order(
            organization=org,
            external_id=str(10_000_000 + i),
            number=f"{50_000 + i}",
            status="shipped",
            store_name="Bench store",
            order_date=now - timedelta(minutes=i),
            payment_date=now - timedelta(minutes=i),
            customer_name=f"Buyer {buyer}",
            customer_email=f"buyer{buyer}@example.com",
        )
        subtotal = Decimal(0)
        count = rng.randint(1, 3)
        order_lines = []
        for position in range(1, count + 1):
            qty = Decimal(rng.choice([1, 1, 2, 3]))
            price = Decimal(rng.randint(199, 9999)) / 100
            sku = f"SKU-{rng.randrange(50)}"
            order_lines.append((position, sku, qty, price, False))
            subtotal += qty * price
        discount = Decimal(rng.choice([0, 0, 0, 500])) / 100 if subtotal > 10 else Decimal(0)
        if discount:
            order_lines.append((count + 1, "", Decimal(1), -discount, True))
        shipping = Decimal(rng.choice([0, 499, 799])) / 100
        tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
        order.lines_subtotal = subtotal.quantize(Decimal("0.01"))
        order.discount_total = discount
        order.shipping_charged = shipping
        order.tax_total = tax
        order.order_total = order.lines_subtotal - discount + shipping + tax
        order.amount_paid = order.order_total
        orders.append(order)
        lines.append(order_lines)
    Order.objects.bulk_create(orders, batch_size=2000)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                organization=org,
                order=order,
                position=position,
                sku=sku,
                name=sku or "Discount",
                quantity=qty,
                unit_price=price,
                is_discount=is_discount,
                is_adjustment=is_discount,
            )
            for order, order_lines in zip(orders, lines, strict=True)
            for position, sku, qty, price, is_discount in order_lines
        ],
        batch_size=5000,
    )


def seed(n: int, standin: StandIn):
    """An organization connected to a fresh stand-in company, with ``n`` shipped orders."""
    from django.utils import timezone

    from accounting.models import LedgerConnection, PostingSettings
    from unify.tenancy.models import Organization
    from unify.tenancy.scoping import org_scope

    realm = standin.new_company()
    tokens = standin.tokens(realm)
    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:10]}")
    now = timezone.now()
    with org_scope(org.pk):
        ledger = LedgerConnection.objects.create(
            organization=org,
            provider="qbo",
            company_id=realm,
            company_name="Bench company",
            tokens={
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
            },
            access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        )
        PostingSettings.objects.create(
            organization=org,
            ledger_connection=ledger,
            product_income_account_id="79",
            shipping_income_account_id="83",
            discount_account_id="86",
            tax_liability_account_id="89",
            deposit_account_id="4",
            label_cost_mode="off",
            reconciliation_enabled=True,
            reconciliation_account_id="92",
        )
        seed_orders(org, n)
    return org, ledger, realm


def post_all(org, ledger, threads: int) -> float:
    """Queue every order and drain; returns the wall time of the drains."""
    from django.db import connection

    from accounting.services import posting_enqueue_orders
    from accounting.services.engine import posting_drain
    from sales.models import Order
    from unify.tenancy.scoping import org_scope

    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=Order.objects.all())

    def drain() -> None:
        try:
            with org_scope(org.pk):
                posting_drain(ledger_connection_id=ledger.pk, time_budget_seconds=36000)
        finally:
            connection.close()

    started = time.perf_counter()
    cpu_started = time.process_time()
    if threads == 1:
        drain()
    else:
        workers = [threading.Thread(target=drain) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    wall = time.perf_counter() - started
    LAST_CPU_SECONDS[0] = time.process_time() - cpu_started
    return wall


LAST_CPU_SECONDS = [0.0]


def check(org, standin: StandIn, realm: str, n: int) -> None:
    from collections import Counter

    from accounting.models import Posting
    from unify.tenancy.scoping import org_scope

    with org_scope(org.pk):
        statuses = Counter(Posting.objects.values_list("status", flat=True))
    docs = standin.stats(realm)
    if statuses != Counter(posted=n):
        raise SystemExit(f"not every order was posted: {dict(statuses)}")
    del docs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 orders, no scaled-limit run")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--ledger",
        choices=("qbo", "qbd", "xero", "qbo-batch", "both"),
        default="both",
        help="the ledger to post to (both: QuickBooks Online, then QuickBooks Desktop)",
    )
    parser.add_argument(
        "--minute-seconds",
        type=float,
        default=6.0,
        help="xero, qbo-batch: the provider's minute scaled to this many seconds (limited runs)",
    )
    parser.add_argument(
        "--profile", default="", help="qbd: write a CPU profile of Unify's server to this file"
    )
    parser.add_argument(
        "--limited-orders", type=int, default=None, help="xero: orders of the limited run"
    )
    args = parser.parse_args()
    n = args.orders or (500 if args.quick else 10_000)
    if args.ledger == "qbd":
        env = bench_env("http://127.0.0.1:9")
        fresh_database(DB_NAME, env)
        setup_django(env)
        qbd_bench(n, args.profile)
        return 0
    if args.ledger in ("xero", "qbo-batch"):
        if args.ledger == "xero":
            from _posting_xero import run
        else:
            from _posting_qbo_batch import run

        proc, base = start_sandbox("Xero" if args.ledger == "xero" else "QuickBooks Online")
        try:
            run(args, base, DB_NAME)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return 0

    proc, base = start_sandbox("QuickBooks Online")
    try:
        standin = StandIn(base)
        standin.rate_limit(None)
        standin.limits(concurrent=None, batch_per_minute=None, latency_seconds=0)
        env = bench_env(base)
        fresh_database(DB_NAME, env)
        setup_django(env)

        # 1. One drain: Unify's own time per document.
        org, ledger, realm = seed(n, standin)
        total = post_all(org, ledger, threads=1)
        check(org, standin, realm, n)
        log = standin.requests_of(realm)
        server_s = sum(r["duration_ms"] for r in log) / 1000
        requests_per_doc = len(log) / n
        own_ms = (total - server_s) * 1000 / n
        print(f"orders: {n}")
        print(f"sequential_seconds: {total:.2f}")
        print(f"standin_seconds: {server_s:.2f}")
        print(f"requests_per_document: {requests_per_doc:.3f}")
        cpu_ms = LAST_CPU_SECONDS[0] * 1000 / n
        load = os.getloadavg()[0]
        print(f"machine_load_average: {load:.1f}")
        print(f"cpus: {os.cpu_count()}")
        # Wall time minus the stand-in's; and this process's CPU time.
        print(f"unify_ms_per_doc: {own_ms:.2f}")
        print(f"unify_cpu_ms_per_doc: {cpu_ms:.2f}")
        print(f"unify_ms_per_doc_target: {TARGET_MS:.1f}")
        print(f"unify_ms_per_doc_target_met: {'yes' if own_ms <= TARGET_MS else 'NO'}")
        print(f"documents_per_second_sequential: {n / total:.1f}")

        # 2. Several drains at once.
        org2, ledger2, realm2 = seed(n, standin)
        parallel = post_all(org2, ledger2, threads=args.threads)
        check(org2, standin, realm2, n)
        print(f"parallel_drains: {args.threads}")
        print(f"documents_per_second_parallel: {n / parallel:.1f}")

        # 3. QuickBooks' 500 requests/min per company bounds a real run.
        fastest = max(n / total, n / parallel)
        limit_seconds = len(log) / QBO_PER_MINUTE * 60
        print(f"qbo_limit_floor_seconds_for_{n}: {limit_seconds:.0f}")
        print(f"unify_unlimited_seconds_for_{n}: {n / fastest:.1f}")
        print(f"qbo_limit_documents_per_minute: {QBO_PER_MINUTE / requests_per_doc:.0f}")
        print(f"unify_documents_per_minute: {fastest * 60:.0f}")
        print(f"bounded_by_qbo_limit: {'yes' if n / fastest < limit_seconds else 'NO'}")
        if not args.quick:
            from django.conf import settings

            from accounting.ledgers.qbo.client import limit_key, qbo_rate_limiter

            # The same rate in a 6 s window: 50 requests per 6 s is 500 per minute.
            settings.QBO_RATE_LIMIT_PER_MINUTE = 50
            settings.QBO_RATE_LIMIT_WINDOW_SECONDS = 6.0
            small = 300
            org3, ledger3, realm3 = seed(small, standin)
            standin.rate_limit(50, 6.0)
            qbo_rate_limiter().reset(limit_key(realm3))
            limited = post_all(org3, ledger3, threads=args.threads)
            check(org3, standin, realm3, small)
            stats = standin.stats(realm3)
            achieved = stats["requests_admitted"] / limited * 60
            # The same rate as 500/min, in 6 s windows.
            print(f"scaled_limit_documents: {small}")
            print(f"scaled_limit_requests: {stats['requests_admitted']}")
            print(f"scaled_limit_seconds: {limited:.1f}")
            print(f"scaled_limit_requests_per_minute: {achieved:.0f}")
            print(f"scaled_limit_throttled: {stats['throttled']}")
            most = stats.get("max_requests_per_minute", "n/a")
            print(f"scaled_limit_most_requests_in_60s: {most}")
        if args.ledger == "both":
            qbd_bench(n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
