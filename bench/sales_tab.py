"""Benchmark the Sales tab at a million orders (not a test: prints figures).

Seeds its own PostgreSQL database with 1,000,000 orders (1 to 5 lines each, about 3 on
average) across 50 organizations, one of them holding 200,000, with SQL (``INSERT ..
SELECT generate_series``; indexes are dropped while loading and built afterwards), then
times the Sales tab of the big organization in-process through Django's test ``Client``
(the real middleware stack, sessions, templates; production settings, ``DEBUG`` off):

    first page unfiltered · last 30 days + a store · search by customer email · search by
    order number · page 1,000 through the cursor · the totals row (counts + totals partial)
    · the order page · and the same list in Django's admin changelist (first page and
    ``?p=999``) as the baseline, with the ratio on the deep page.

Each figure is p50 / p95 over at least 50 requests (after 3 warm-up requests). Any request
type whose p95 is above the 150 ms target gets the ``EXPLAIN (ANALYZE, BUFFERS)`` of its
slowest query printed.

    python bench/sales_tab.py            # 1,000,000 orders (database unify_bench_sales)
    python bench/sales_tab.py --quick    # 20,000 orders (unify_bench_sales_quick), 20 requests
                                         # per figure: well under a minute including the seeding
    python bench/sales_tab.py --reseed   # drop and seed again

The dashboard figures (``dashboard_*``) time ``/o/<org>/`` of the big organization: the
attention counts, the totals and the four charts, all from the running totals (the last 30
days by day; the last 365 days by month, from the month totals). Every figure also prints
the CPU time per request of this process and of its PostgreSQL backend, which depends much
less on the machine's load than the wall-clock p95; the load average is printed beside
the dashboard figures. ``--only dashboard`` runs those figures alone.
``BENCH_SALES_DATABASE`` names another database (two people benchmarking at once).

The seeded database is kept between runs; seeding is skipped when it is already there.
Environment: ``BENCH_DATABASE_HOST_URL`` (default ``postgres://postgres@127.0.0.1:5432``),
``REDIS_URL`` (default ``redis://127.0.0.1:6379/5``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from _sales_tab_seed import FULL_ORDERS, seed, sizes
from _support import ROOT, host_url, recreate_database

sys.path.insert(0, str(ROOT))

TARGET_MS = 150.0
SAMPLES = 50
WARMUP = 3
# A smoke run of every figure, not a measurement at size: small enough that seeding plus
# measuring stays under a minute on a 2-core machine shared with other work.
QUICK_ORDERS = 20_000
QUICK_SAMPLES = 20


def already_seeded(db_name: str, total: int) -> bool:
    """Checked before Django starts, so a half-seeded database can be dropped cleanly."""
    import psycopg

    try:
        with psycopg.connect(f"{host_url()}/{db_name}", autocommit=True) as conn:
            if not conn.execute("SELECT to_regclass('bench_orgs') IS NOT NULL").fetchone()[0]:
                return False
            return conn.execute("SELECT count(*) FROM sales_order").fetchone()[0] == total
    except psycopg.OperationalError:  # no such database yet
        return False


def configure(db_name: str) -> None:
    os.environ["DATABASE_URL"] = f"{host_url()}/{db_name}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
    os.environ["DJANGO_SETTINGS_MODULE"] = "unify.settings.base"
    # Production mode: DEBUG off (no query log, cached templates, manifest static files).
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    os.environ.setdefault("UNIFY_ENCRYPTION_KEYS", "vTc0w8yb6Z4xJ0m7o2hGmJ3r6M9dW2nq5cQ1u4l8Zp0=")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("UNIFY_DATA_DIR", "/tmp/unify-bench-sales/data")
    os.environ.setdefault("STATIC_ROOT", "/tmp/unify-bench-sales/static")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    manifest = Path(os.environ["STATIC_ROOT"]) / "staticfiles.json"
    if not manifest.exists():
        call_command("collectstatic", interactive=False, verbosity=0)


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lower, upper = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (k - lower)


class Bench:
    def __init__(self, samples: int, only: str = "") -> None:
        self.samples = samples
        self.only = only
        self.results: list[tuple[str, float, float, int]] = []
        self.slow: list[tuple[str, str, dict]] = []

    def run(self, name: str, client, urls: list[str], headers: dict | None = None) -> float:
        """The p50 in ms (0 for a figure left out by ``--only``)."""
        if not name.startswith(self.only):
            return 0.0
        headers = headers or {}
        for url in urls[:WARMUP]:
            assert client.get(url, secure=True, headers=headers).status_code == 200, url
        times = []
        database_cpu = backend_cpu_seconds()
        app_cpu = time.process_time()
        for i in range(self.samples):
            url = urls[i % len(urls)]
            t = time.perf_counter()
            response = client.get(url, secure=True, headers=headers)
            if response.streaming:
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        app_cpu = (time.process_time() - app_cpu) * 1000 / len(times)
        database_cpu = (backend_cpu_seconds() - database_cpu) * 1000 / len(times)
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        self.results.append((name, p50, p95, len(times)))
        slug = figure_name(name)
        print(f"{slug}_p50_ms: {p50:.1f}")
        print(f"{slug}_p95_ms: {p95:.1f}")
        # CPU time per request, which depends far less on what else the machine runs than
        # the wall-clock figures: this process (Django) and its PostgreSQL backend.
        print(f"{slug}_cpu_ms_per_request: {app_cpu + database_cpu:.1f} "
              f"(django {app_cpu:.1f}, postgresql {database_cpu:.1f})", flush=True)  # fmt: skip
        if p95 > TARGET_MS:
            self.slow.append((name, urls[0], headers))
        return p50

    def explain_slow(self, clients: dict) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for name, url, headers in self.slow:
            client = clients["admin"] if url.startswith("/admin/") else clients["member"]
            with CaptureQueriesContext(connection) as ctx:
                client.get(url, secure=True, headers=headers)
            queries = sorted(ctx.captured_queries, key=lambda q: float(q["time"]), reverse=True)
            total_sql = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
            print(f"\n=== above target: {name}  ({len(queries)} queries, {total_sql:.1f} ms SQL)")
            for query in queries[:2]:
                if float(query["time"]) * 1000 < 20:
                    continue
                print(f"--- {float(query['time']) * 1000:.1f} ms: {query['sql'][:300]}")
                # The dashboard reads several statements in one round trip, after a SET LOCAL
                # that holds for them: each is explained after that SET too.
                statements = query["sql"].split(";\n")
                settings = [s for s in statements if s.lstrip().upper().startswith("SET ")]
                for statement in statements:
                    if statement in settings:
                        continue
                    with connection.cursor() as cursor:
                        cursor.execute(
                            ";\n".join([*settings, "EXPLAIN (ANALYZE, BUFFERS) " + statement])
                        )
                        for _setting in settings:
                            cursor.cursor.nextset()
                        for (line,) in cursor.fetchall():
                            print("    " + line)


def backend_cpu_seconds() -> float:
    """CPU time (user + system) of this connection's PostgreSQL backend so far, from
    ``/proc`` (the server runs on this machine; 0 where it cannot be read). Clock ticks of
    10 ms: meaningful as the mean over a figure's requests, not per request."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figure_name(label: str) -> str:
    """``sales: first page (50, newest first)`` -> ``sales_first_page_50_newest_first``."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def measure(total: int, samples: int, only: str = "") -> None:
    import random

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from sales.models import Order
    from sales.selectors_tab import cursor_encode
    from unify.tenancy.models import Organization
    from unify.tenancy.scoping import org_scope

    rng = random.Random(7)
    big = Organization.objects.get(slug="bench-00")
    user_model = get_user_model()
    member = Client()
    member.force_login(user_model.objects.get(username="bench-member"))
    admin = Client()
    admin.force_login(user_model.objects.get(username="bench-admin"))
    base = f"/o/{big.slug}/sales/"

    with org_scope(big.pk):
        big_orders = Order.objects.filter(organization=big).count()
        sample = list(
            Order.objects.filter(organization=big)
            .order_by("?")
            .values_list("pk", "number", "customer_email")[:SAMPLES]
        ) if total <= 200_000 else _sample(big.pk)  # fmt: skip
        store_id = (
            Order.objects.filter(organization=big).values_list("source_store_id", flat=True).first()
        )
        per = 50
        deep_page = min(1000, big_orders // per)
        offset = (deep_page - 1) * per - 1
        anchor = (
            Order.objects.filter(organization=big)
            .order_by("-order_date", "-id")
            .only("id", "order_date")[offset]
        )
        cursor = cursor_encode(organization_id=big.pk, sort="-date", order=anchor)
    print(f"\nbig_organization_orders: {big_orders}")
    print(f"deep_page: {deep_page}")
    print(f"deep_page_after_row: {offset + 1}")
    print(f"samples_per_figure: {samples}", flush=True)
    rng.shuffle(sample)
    emails = [f"{base}?q={email}" for _pk, _n, email in sample]
    numbers = [f"{base}?q={number.replace('#', '%23')}" for _pk, number, _e in sample]
    details = [f"{base}{pk}/" for pk, _n, _e in sample]

    bench = Bench(samples, only)
    print()
    bench.run("sales: first page (50, newest first)", member, [base])
    bench.run("sales: last 30 days + store", member, [f"{base}?preset=30d&store={store_id}"])
    bench.run("sales: search customer email", member, emails)
    bench.run("sales: search order number", member, numbers)
    deep = bench.run(f"sales: page {deep_page} via cursor", member, [f"{base}?after={cursor}"])
    htmx = {"HX-Request": "true"}
    bench.run("sales: totals row + tab counts (all)", member, [f"{base}summary/"], htmx)
    bench.run(
        "sales: totals row, 30 days + store", member,
        [f"{base}summary/?preset=30d&store={store_id}"], htmx,
    )  # fmt: skip
    bench.run("sales: order page", member, details)
    bench.run("sales: first page, htmx partial, 200 per page", member, [f"{base}?per=200"], htmx)
    # The dashboard (attention counts, totals and charts from the day and month totals, top
    # SKUs). The load average beside it: the machine may be shared.
    print(f"load_average_1m_before_dashboard: {os.getloadavg()[0]:.1f}", flush=True)
    dashboard = f"/o/{big.slug}/"
    bench.run("dashboard: last 30 days", member, [dashboard])
    bench.run("dashboard: last 30 days + store", member, [f"{dashboard}?store={store_id}"])
    bench.run("dashboard: last month, failed only", member,
              [f"{dashboard}?preset=last_month&posting=failed"])  # fmt: skip
    year = f"{dashboard}?preset=custom&date_from={(date.today() - timedelta(days=364))}"
    bench.run("dashboard: last 365 days", member, [year])
    bench.run("dashboard: last 365 days + store", member, [f"{year}&store={store_id}"])
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as dashboard_queries:
        member.get(dashboard, secure=True)
    print(f"dashboard_queries_per_request: {len(dashboard_queries.captured_queries)}")
    print(f"load_average_1m_after_dashboard: {os.getloadavg()[0]:.1f}", flush=True)
    admin_url = reverse("admin:sales_order_changelist") + f"?organization__id__exact={big.pk}"
    bench.run("admin: changelist first page", admin, [admin_url])
    admin_pages = big_orders // 100
    admin_deep = min(999, admin_pages)
    admin_p50 = bench.run(
        f"admin: changelist ?p={admin_deep}", admin, [f"{admin_url}&p={admin_deep}"]
    )
    if admin_p50 and deep:
        print(f"\nratio_admin_deep_page_to_sales_deep_page_p50: {admin_p50 / deep:.1f}")
    over = [name for name, _url, _headers in bench.slow if not name.startswith("admin")]
    dashboard_over = [name for name in over if name.startswith("dashboard")]
    print(f"dashboard_request_types_over_{TARGET_MS:.0f}_ms_p95: {len(dashboard_over)}")
    print(f"sales_tab_request_types_over_{TARGET_MS:.0f}_ms_p95: {len(over)}")
    if bench.slow:
        bench.explain_slow({"member": member, "admin": admin})
    with connection.cursor() as c:
        c.execute("SHOW shared_buffers")
        shared = c.fetchone()[0]
        c.execute("SHOW jit")
        jit = c.fetchone()[0]
    print(f"\npostgresql_shared_buffers: {shared}")
    print(f"postgresql_jit: {jit}")
    print(f"cpus: {os.cpu_count()}")
    print(f"load_average_1m: {os.getloadavg()[0]:.2f}")


def _sample(org_id: int) -> list[tuple[int, str, str]]:
    """Random orders of the big organization without sorting 200,000 rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, number, customer_email FROM sales_order TABLESAMPLE SYSTEM (0.5) "
            "WHERE organization_id = %s LIMIT %s",
            [org_id, SAMPLES],
        )
        return list(cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ORDERS:,} orders, under a minute"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument(
        "--samples",
        type=int,
        default=0,
        help=f"requests per figure ({SAMPLES}; {QUICK_SAMPLES} quick)",
    )
    parser.add_argument(
        "--only", default="", help='only the figures whose name starts so (e.g. "dashboard")'
    )
    args = parser.parse_args()
    started = time.perf_counter()
    total = QUICK_ORDERS if args.quick else FULL_ORDERS
    db_name = "unify_bench_sales_quick" if args.quick else "unify_bench_sales"
    db_name = os.environ.get("BENCH_SALES_DATABASE", "") or db_name
    fresh = args.reseed or not already_seeded(db_name, total)
    if fresh:
        recreate_database(db_name)
    configure(db_name)
    from django.db import connection

    from unify.tenancy.rls import rls_bypass

    # Seeding and the table sizes span organizations; the measured pages do not.
    print(f"row_level_security: {'on' if hasattr(connection, 'rls_sync') else 'off'}")
    with rls_bypass("maintenance"):
        if fresh:
            figures = seed(total)
        else:
            print(f"seed: database {db_name} already seeded, skipped (--reseed starts over)")
            figures = sizes()
    print(f"orders: {figures['orders']}")
    print(f"orders_table_heap: {figures['order_heap']}")
    print(f"orders_table_with_indexes: {figures['order_total']}")
    print(f"order_lines: {figures['lines']}")
    print(f"order_lines_table_with_indexes: {figures['line_total']}")
    measure(total, args.samples or (QUICK_SAMPLES if args.quick else SAMPLES), args.only)
    print(f"\nwhole_run_seconds: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
