"""Posting to Xero (``python bench/posting.py --ledger xero``): prints ``name: value`` figures.

The same orders as the QuickBooks run (``posting.seed_orders``), posted to an organisation of
the Xero stand-in (its own process) by the drains the Celery workers run:

1. *limits off, one drain*: ``unify_ms_per_doc`` is the wall time minus the time the
   stand-in spent answering (the ``duration_ms`` of its request log), per document: our own
   cost - target <= 5 ms; documents per second;
2. *limits off, several drains*: documents per second;
3. *limits on, clock scaled*: Xero's 60 requests a minute per organisation (and 5 at once,
   5,000 a day), with the minute scaled to ``--minute-seconds`` on both sides (the stand-in's
   windows and Unify's limiter): the floor is the requests the run needed at 60 per scaled
   minute; the run's time is compared with it. Scaling keeps Unify's processing small next to
   the floor as long as the floor stays above it (printed as ``processing_share``).
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from datetime import timedelta

import requests

TARGET_MS = 5.0
XERO_PER_MINUTE = 60


def bench_env(base: str, db_name: str) -> dict[str, str]:
    from _support import ROOT, production_env

    from sandbox.xero.make_run import unify_settings

    return {
        **production_env(db_name),
        **unify_settings(base),
        # Limits off: budgets that never bind (and that the remaining-limit headers, which
        # the stand-in reports as 1,000,000 with its limits off, never shrink).
        "XERO_RATE_LIMIT_PER_MINUTE": "1000000",
        "XERO_DAY_LIMIT": "1000000",
        "XERO_APP_RATE_LIMIT_PER_MINUTE": "1000000",
        "XERO_MAX_CONCURRENT": "1000",
        "PYTHONPATH": str(ROOT),
    }


class XeroStandIn:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def _url(self, path: str) -> str:
        return f"{self.base}/__sandbox__/xero{path}"

    def new_organisation(self) -> str:
        answer = self.http.post(self._url("/organisations"), json={"name": "Bench"}, timeout=30)
        answer.raise_for_status()
        return answer.json()["tenant_id"]

    def tokens(self, tenant: str) -> dict:
        answer = self.http.post(
            self._url("/oauth/tokens"), json={"tenant_ids": [tenant]}, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def limits(self, **values) -> dict:
        answer = self.http.put(self._url("/limits"), json=values, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def requests_of(self, tenant: str) -> list[dict]:
        answer = self.http.get(
            f"{self.base}/__sandbox__/requests", params={"key": tenant}, timeout=120
        )
        answer.raise_for_status()
        return answer.json()["requests"]

    def stats(self, tenant: str) -> dict:
        return self.http.get(self._url(f"/organisations/{tenant}/stats"), timeout=30).json()

    def count(self, tenant: str, collection: str) -> int:
        return self.http.get(
            self._url(f"/organisations/{tenant}/{collection}"), timeout=120
        ).json()["count"]


def seed(n: int, standin: XeroStandIn):
    from django.utils import timezone
    from posting import seed_orders

    from accounting.models import LedgerConnection, PostingSettings
    from sandbox.xero.seed import account_id
    from unify.tenancy.models import Organization
    from unify.tenancy.scoping import org_scope

    tenant = standin.new_organisation()
    tokens = standin.tokens(tenant)
    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:10]}")
    now = timezone.now()
    with org_scope(org.pk):
        ledger = LedgerConnection.objects.create(
            organization=org,
            provider="xero",
            company_id=tenant,
            company_name="Bench",
            tokens={
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
            },
            access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        )
        PostingSettings.objects.create(
            organization=org,
            ledger_connection=ledger,
            document_type="invoice_payment",
            product_income_account_id=account_id(tenant, "200"),
            shipping_income_account_id=account_id(tenant, "210"),
            discount_account_id=account_id(tenant, "280"),
            tax_liability_account_id=account_id(tenant, "820"),
            deposit_account_id=account_id(tenant, "615"),
            label_cost_mode="off",
            reconciliation_enabled=True,
            reconciliation_account_id=account_id(tenant, "870"),
        )
        seed_orders(org, n)
    return org, ledger, tenant


def post_all(org, ledger, threads: int) -> tuple[float, float]:
    """Queue every order and drain; (wall seconds, this process's CPU seconds)."""
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

    started, cpu = time.perf_counter(), time.process_time()
    workers = [threading.Thread(target=drain) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, time.process_time() - cpu


def check(org, n: int) -> None:
    from collections import Counter

    from accounting.models import Posting
    from unify.tenancy.scoping import org_scope

    with org_scope(org.pk):
        statuses = Counter(Posting.objects.values_list("status", flat=True))
    if statuses != Counter(posted=n):
        raise SystemExit(f"not every order was posted: {dict(statuses)}")


def run(args, base: str, db_name: str) -> None:
    from _support import CpuMeter, fresh_database, setup_django

    standin = XeroStandIn(base)
    standin.limits(per_minute=None, per_day=None, app_per_minute=None, concurrent=None)
    env = bench_env(base, db_name)
    fresh_database(db_name, env)
    setup_django(env)
    from django.conf import settings

    n = args.orders or (500 if args.quick else 10_000)
    batch = int(settings.XERO_BATCH_SIZE)

    # 1. Limits off, one drain.
    org, ledger, tenant = seed(n, standin)
    meter = CpuMeter(pids={}, database=db_name).start()
    load_before = os.getloadavg()[0]
    wall, cpu = post_all(org, ledger, threads=1)
    postgres_cpu = meter.stop().get("postgres", 0.0)
    check(org, n)
    log = standin.requests_of(tenant)
    server_s = sum(r["duration_ms"] for r in log) / 1000
    own_ms = (wall - server_s) * 1000 / n
    invoices = standin.count(tenant, "Invoices")
    print("ledger: xero")
    print(f"orders: {n}")
    print(f"documents_per_request: {batch}")
    print(f"sequential_seconds: {wall:.2f}")
    print(f"standin_seconds: {server_s:.2f}")
    print(f"requests: {len(log)}")
    print(f"requests_per_document: {len(log) / n:.3f}")
    print(f"machine_load_average_before: {load_before:.1f}")
    print(f"machine_load_average: {os.getloadavg()[0]:.1f}")
    print(f"cpus: {os.cpu_count()}")
    # Wall time minus the stand-in's answering time (includes waiting for a CPU under load).
    print(f"unify_ms_per_doc: {own_ms:.2f}")
    # Unify's own CPU (this process: the drain, ORM, xero-python, limiter) and PostgreSQL's.
    print(f"unify_cpu_ms_per_doc: {cpu * 1000 / n:.2f}")
    print(f"unify_cpu_ms_per_doc_target_met: {'yes' if cpu * 1000 / n <= TARGET_MS else 'NO'}")
    print(f"postgres_cpu_ms_per_doc: {postgres_cpu * 1000 / n:.2f}")
    print(f"unify_ms_per_doc_target: {TARGET_MS:.1f}")
    print(f"unify_ms_per_doc_target_met: {'yes' if own_ms <= TARGET_MS else 'NO'}")
    print(f"documents_per_second_sequential: {n / wall:.1f}")
    print(f"invoices_in_xero: {invoices}")

    # 2. Limits off, several drains.
    org2, ledger2, _tenant2 = seed(n, standin)
    parallel, _cpu = post_all(org2, ledger2, threads=args.threads)
    check(org2, n)
    print(f"parallel_drains: {args.threads}")
    print(f"documents_per_second_parallel: {n / parallel:.1f}")

    # 3. Xero's limits, the minute scaled to --minute-seconds on both sides.
    minute = float(args.minute_seconds)
    scale = 60.0 / minute
    settings.XERO_RATE_LIMIT_PER_MINUTE = XERO_PER_MINUTE
    settings.XERO_RATE_LIMIT_WINDOW_SECONDS = minute
    settings.XERO_DAY_LIMIT = 5000
    settings.XERO_DAY_WINDOW_SECONDS = 86400.0 / scale
    settings.XERO_MAX_CONCURRENT = 5
    settings.XERO_APP_RATE_LIMIT_PER_MINUTE = 10_000
    standin.limits(
        per_minute=XERO_PER_MINUTE,
        minute_seconds=minute,
        per_day=5000,
        day_seconds=86400.0 / scale,
        app_per_minute=10_000,
        concurrent=5,
    )
    limited_n = args.limited_orders or n
    org3, ledger3, tenant3 = seed(limited_n, standin)
    limited, _cpu = post_all(org3, ledger3, threads=args.threads)
    check(org3, limited_n)
    stats = standin.stats(tenant3)
    admitted = stats["requests_admitted"]
    floor = admitted / XERO_PER_MINUTE * minute
    print(f"limited_orders: {limited_n}")
    print(f"limited_minute_scaled_to_seconds: {minute:g} (clock x{scale:g})")
    print(f"limited_requests: {admitted}")
    print(f"limited_requests_per_document: {admitted / limited_n:.3f}")
    print(f"limited_throttled: {stats['throttled']}")
    print(f"limited_most_requests_in_a_window: {stats['max_requests_per_minute']}")
    print(f"limited_most_at_once: {stats['max_concurrent']}")
    print(f"limited_seconds: {limited:.1f}")
    print(f"limited_floor_seconds: {floor:.1f}")
    print(f"limited_ratio_to_floor: {limited / floor:.2f}")
    print(f"limited_seconds_real_clock: {limited * scale:.0f}")
    # Requests: an invoice PUT and a payment PUT per 50 sales, plus the one-time look-ups and
    # creations of contacts and items (the same 200 buyers and 50 SKUs at any size).
    per_batch = 2 * math.ceil(limited_n / batch)
    one_time = admitted - per_batch
    needed_10000 = 2 * math.ceil(10_000 / batch) + one_time
    print(f"limited_one_time_requests: {one_time}")
    print(f"floor_minutes_for_10000_invoices_only: {math.ceil(10_000 / batch) / 60:.1f}")
    print(f"floor_minutes_for_10000_with_payments: {needed_10000 / 60:.1f}")
    ratio = max(1.0, limited / floor)
    print(f"projected_minutes_for_10000_real_clock: {needed_10000 / 60 * ratio:.1f}")
    # Our own time for these documents with limits off, next to the floor: well below 1
    # means the limit, not Unify, sets the pace (as with the real, unscaled minute).
    processing = limited_n / (n / parallel)
    print(f"processing_share_of_floor: {processing / floor:.2f}")
