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

from _support import ROOT, host_url, recreate_database

sys.path.insert(0, str(ROOT))

TARGET_MS = 150.0
SAMPLES = 50
WARMUP = 3
ORGS = 50
BIG_SHARE = 5  # every 5th order belongs to the big organization: 20 %
STORES_PER_CONNECTION = 4
AUDIT_EVENTS_BIG = 100_000  # e.g. what one "ignore all filtered" of 100,000 orders leaves
FULL_ORDERS = 1_000_000
# A smoke run of every figure, not a measurement at size: small enough that seeding plus
# measuring stays under a minute on a 2-core machine shared with other work.
QUICK_ORDERS = 20_000
QUICK_SAMPLES = 20
SEED_STEP = 100_000  # orders per INSERT .. SELECT statement


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


# --- seeding ---------------------------------------------------------------------------------

FIRST = (  # noqa: SIM905
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Chris Nancy Daniel Lisa Matthew "
    "Betty Anthony Sandra Mark Ashley Donald Kimberly Steven Emily Paul Donna Andrew Michelle "
    "Joshua Carol"
).split()
LAST = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes"
).split()

ORDER_SQL = """
INSERT INTO sales_order (
    created_at, updated_at, organization_id, connection_id, source_store_id, source,
    store_name, external_id, order_key, number, status, order_date, payment_date, create_date,
    modify_date, customer_name, customer_email, bill_to, ship_to, currency, lines_subtotal,
    discount_total, tax_total, shipping_charged, order_total, amount_paid,
    reconciliation_difference, label_cost_total, return_label_cost_total, label_status,
    items_count, is_cancelled, externally_fulfilled, changed_after_posting, is_ignored,
    posting_status, raw, raw_hash, content_hash, lines_hash, last_synced_at)
SELECT now(), now(), o.org_id, o.store_conn[s.store + 1], o.store_ids[s.store + 1],
    'shipstation', o.store_names[s.store + 1], s.g::text, md5(s.g::text), s.number, s.status,
    s.order_date, s.order_date + interval '5 minutes', s.order_date,
    s.order_date + interval '2 days',
    s.first || ' ' || s.last, s.email,
    jsonb_build_object('name', s.first || ' ' || s.last,
        'street1', (s.g %% 9000 + 10) || ' Main St',
        'city', 'Springfield', 'state', 'IL', 'postalCode', '62701', 'country', 'US'),
    jsonb_build_object('name', s.first || ' ' || s.last,
        'street1', (s.g %% 9000 + 10) || ' Main St',
        'city', 'Springfield', 'state', 'IL', 'postalCode', '62701', 'country', 'US',
        'phone', '555-01' || lpad((s.g %% 100)::text, 2, '0')),
    'USD', s.lines, s.discount, s.tax, s.shipping, s.lines - s.discount + s.shipping + s.tax,
    s.paid, s.paid - (s.lines - s.discount + s.shipping + s.tax),
    CASE WHEN s.has_label THEN s.label ELSE 0 END, 0,
    CASE WHEN s.has_label THEN 'has_label' WHEN s.status = 'shipped' THEN 'no_label'
         ELSE 'none' END,
    1 + s.g %% 5, s.status = 'cancelled', false, s.posting = 'changed', s.posting = 'ignored',
    s.posting,
    jsonb_build_object('orderId', s.g, 'orderNumber', s.number, 'orderKey', md5(s.g::text),
        'orderStatus', s.status, 'customerEmail', s.email, 'amountPaid', s.paid,
        'taxAmount', s.tax, 'shippingAmount', s.shipping,
        'internalNotes', md5(s.g::text || 'a') || md5(s.g::text || 'b') || md5(s.g::text || 'c'),
        'advancedOptions', jsonb_build_object('storeId', o.store_ids[s.store + 1],
            'source', 'web', 'customField1', md5(s.g::text || 'd')),
        'items', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (s.g %% 3000),
            'name', 'Product ' || (s.g %% 3000), 'quantity', 1, 'unitPrice', s.lines,
            'imageUrl', 'https://img.example.com/' || md5(s.g::text || 'e') || '.jpg'))),
    md5(s.g::text || 'r'), md5(s.g::text || 'c'), md5(s.g::text || 'l'),
    s.order_date + interval '2 days'
FROM (
    SELECT g,
        CASE WHEN g %% %(share)s = 0 THEN 0 ELSE 1 + g %% (%(orgs)s - 1) END AS org_idx,
        (g * 7 + g / 13) %% %(stores)s AS store,
        CASE (g / 3) %% 3 WHEN 0 THEN '#' || (100000 + g)
             WHEN 1 THEN '112-' || lpad(g::text, 7, '0') || '-'
                 || lpad(((g * 7919) %% 10000000)::text, 7, '0')
             ELSE 'SO-' || (500000 + g) END AS number,
        CASE WHEN r1 < 0.70 THEN 'shipped' WHEN r1 < 0.85 THEN 'awaiting_shipment'
             WHEN r1 < 0.90 THEN 'cancelled' WHEN r1 < 0.95 THEN 'on_hold'
             ELSE 'awaiting_payment' END AS status,
        CASE WHEN r2 < 0.60 THEN 'posted' WHEN r2 < 0.90 THEN 'not_posted'
             WHEN r2 < 0.95 THEN 'failed' WHEN r2 < 0.98 THEN 'ignored'
             ELSE 'changed' END AS posting,
        date_trunc('minute', now() - (g::float / %(n)s) * interval '400 days'
                   - r3 * interval '6 hours') AS order_date,
        (%(first)s::text[])[1 + (g * 7) %% %(nfirst)s] AS first,
        (%(last)s::text[])[1 + (g * 13) %% %(nlast)s] AS last,
        lower((%(first)s::text[])[1 + (g * 7) %% %(nfirst)s]) || '.'
            || lower((%(last)s::text[])[1 + (g * 13) %% %(nlast)s]) || (g %% 997)
            || '@'
            || (ARRAY['gmail.com','yahoo.com','outlook.com','icloud.com','aol.com'])[1 + g %% 5]
            AS email,
        round((5 + r4 * 200)::numeric, 2) AS lines,
        CASE WHEN r5 < 0.10 THEN 5.00 ELSE 0 END AS discount,
        round((5 + r4 * 200)::numeric * 0.07, 2) AS tax,
        round((r6 * 15)::numeric, 2) AS shipping,
        CASE WHEN r5 > 0.96
             THEN round((5 + r4 * 200)::numeric, 2) - CASE WHEN r5 < 0.10 THEN 5.00 ELSE 0 END
                  + round((r6 * 15)::numeric, 2)
             ELSE round((5 + r4 * 200)::numeric, 2) - CASE WHEN r5 < 0.10 THEN 5.00 ELSE 0 END
                  + round((r6 * 15)::numeric, 2) + round((5 + r4 * 200)::numeric * 0.07, 2)
        END AS paid,
        r7 < 0.75 AS has_label,
        round((3 + r8 * 12)::numeric, 2) AS label
    FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5,
                 random() r6, random() r7, random() r8
          FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g) raw_rows
) s JOIN bench_orgs o ON o.idx = s.org_idx
"""

LINE_SQL = """
INSERT INTO sales_orderline (created_at, updated_at, line_key, position, sku, name, quantity,
    unit_price, tax, shipping, is_adjustment, is_discount, order_id, organization_id)
SELECT now(), now(), '', p, 'SKU-' || lpad(((o.id * 31 + p * 17) %% 3000)::text, 5, '0'),
    'Product ' || ((o.id * 31 + p * 17) %% 3000), 1, round(o.lines_subtotal / o.items_count, 2),
    0, 0, false, false, o.id, o.organization_id
FROM sales_order o CROSS JOIN LATERAL generate_series(1, o.items_count) p
WHERE o.id BETWEEN %(lo)s AND %(hi)s
"""

LABEL_SQL = """
INSERT INTO sales_shippingcost (created_at, updated_at, external_id, order_external_id,
    order_number, order_key, store_external_id, ship_date, create_date, carrier, service,
    tracking_number, cost, insurance, voided, is_return, raw, raw_hash, connection_id, order_id,
    organization_id, bill_to_party)
SELECT now(), now(), 'L' || o.id, o.external_id, o.number, o.order_key, '', o.order_date::date,
    o.order_date + interval '1 day', 'usps', 'usps_priority_mail',
    '9400' || lpad(o.id::text, 16, '0'),
    o.label_cost_total, 0, false, false, '{}', '', o.connection_id, o.id, o.organization_id, ''
FROM sales_order o WHERE o.organization_id = %(org)s AND o.label_status = 'has_label'
"""

AUDIT_SQL = """
INSERT INTO core_auditevent (action, target, metadata, ip, at, actor_id, organization_id)
SELECT 'sales.order.ignored', 'sales.order:' || o.id, '{"bulk_action": 1}', NULL,
    now() - interval '3 days', NULL, o.organization_id
FROM (SELECT id, organization_id FROM sales_order WHERE organization_id = %(org)s
      ORDER BY id LIMIT %(n)s) o
"""


def _secondary_indexes(cursor, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid
        WHERE i.tablename = ANY(%s) AND NOT x.indisprimary AND NOT x.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
        """,
        [list(tables)],
    )
    return list(cursor.fetchall())


def seed(total: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from connections.models import SourceStore, StoreConnection
    from unify.tenancy.models import Membership, Organization

    started = time.perf_counter()
    with transaction.atomic():
        orgs = []
        for i in range(ORGS):
            org = Organization.objects.create(
                name=f"Bench {i:02d}", slug=f"bench-{i:02d}", timezone="America/New_York"
            )
            stores, names, conns = [], [], []
            for c in range(2):
                connection_row = StoreConnection.all_orgs.create(
                    organization=org, name=f"ShipStation {c + 1}", credentials_hint="abcd"
                )
                for s in range(STORES_PER_CONNECTION):
                    store = SourceStore.all_orgs.create(
                        organization=org,
                        connection=connection_row,
                        external_id=10_000 * (i + 1) + 10 * c + s,
                        name=f"Store {c + 1}-{s + 1}",
                        marketplace_name=("Shopify", "Amazon", "eBay", "Etsy")[s],
                    )
                    stores.append(store.pk)
                    names.append(store.name)
                    conns.append(connection_row.pk)
            orgs.append((i, org.pk, stores, names, conns))
    User = get_user_model()  # noqa: N806
    user = User.objects.create_user("bench-member", "bench@example.com", "bench-password")
    Membership.objects.create(user=user, organization_id=orgs[0][1], role="member")
    admin = User.objects.create_superuser("bench-admin", "admin@example.com", "bench-password")
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin, generate_totp_secret())  # staff open the admin only with MFA

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_orgs (idx int PRIMARY KEY, org_id bigint, store_ids bigint[], "
            "store_names text[], store_conn bigint[])"
        )
        for idx, org_id, stores, names, conns in orgs:
            cursor.execute(
                "INSERT INTO bench_orgs VALUES (%s, %s, %s, %s, %s)",
                [idx, org_id, stores, names, conns],
            )
        dropped = _secondary_indexes(cursor, ("sales_order", "sales_orderline"))
        for name, _definition in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT setseed(0.42)")
    print(f"seed: organizations, stores, users: {time.perf_counter() - started:.1f} s", flush=True)

    step = SEED_STEP
    params = {
        "share": BIG_SHARE, "orgs": ORGS, "stores": 2 * STORES_PER_CONNECTION, "n": total,
        "first": FIRST, "nfirst": len(FIRST), "last": LAST, "nlast": len(LAST),
    }  # fmt: skip
    for start in range(1, total + 1, step):
        stop = min(start + step - 1, total)
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            # Foreign keys are right by construction; checking 1M of them row by row is slow.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(ORDER_SQL, {**params, "start": start, "stop": stop})
        print(f"seed: orders {stop:>9,}  {time.perf_counter() - t:5.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM sales_order")
        lo, hi = cursor.fetchone()
    for chunk in range(lo, hi + 1, 250_000):
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(LINE_SQL, {"lo": chunk, "hi": chunk + 249_999})
        print(f"seed: lines of orders up to id {chunk + 249_999:,}  "
              f"{time.perf_counter() - t:5.1f} s", flush=True)  # fmt: skip
    big = orgs[0][1]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(LABEL_SQL, {"org": big})
        # The same share of audit rows per order at every size.
        cursor.execute(AUDIT_SQL, {"org": big, "n": AUDIT_EVENTS_BIG * total // FULL_ORDERS})
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in dropped:
            cursor.execute(definition)
    print(f"seed: {len(dropped)} indexes rebuilt  {time.perf_counter() - t:5.1f} s", flush=True)
    t = time.perf_counter()
    from sales.rollup import order_rollup_rebuild

    # The load above ran with triggers off (replica role): recompute the running totals.
    order_rollup_rebuild()
    print(f"seed: running totals rebuilt  {time.perf_counter() - t:5.1f} s", flush=True)
    t = time.perf_counter()
    from sales.rollup_daily import daily_rollup_rebuild

    daily_rollup_rebuild()  # the dashboard's day totals, likewise
    print(f"seed: day totals rebuilt  {time.perf_counter() - t:5.1f} s", flush=True)
    t = time.perf_counter()
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = True
    try:
        raw.execute("VACUUM (ANALYZE) sales_order")
        raw.execute("VACUUM (ANALYZE) sales_orderline")
        raw.execute("VACUUM (ANALYZE) sales_shippingcost")
        raw.execute("VACUUM (ANALYZE) core_auditevent")
        raw.execute("VACUUM (ANALYZE) sales_order_rollup")
        raw.execute("VACUUM (ANALYZE) sales_order_daily")
        raw.execute("VACUUM (ANALYZE) sales_sku_daily")
        raw.execute("VACUUM (ANALYZE) sales_order_monthly")
        raw.execute("VACUUM (ANALYZE) sales_sku_monthly")
    finally:
        raw.autocommit = previous
    print(f"seed: vacuum analyze  {time.perf_counter() - t:5.1f} s", flush=True)
    print(f"seed: total {time.perf_counter() - started:.1f} s", flush=True)
    return sizes()


def sizes() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sales_order")
        orders = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sales_orderline")
        lines = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('sales_order')), "
            "pg_size_pretty(pg_relation_size('sales_order')), "
            "pg_size_pretty(pg_total_relation_size('sales_orderline'))"
        )
        order_total, order_heap, line_total = cursor.fetchone()
    return {"orders": orders, "lines": lines, "order_total": order_total,
            "order_heap": order_heap, "line_total": line_total}  # fmt: skip


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
