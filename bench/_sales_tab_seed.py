"""Seeding the Sales tab benchmark's database (``bench/sales_tab.py``): organizations, stores and
users through Django, then the orders, their lines, labels and audit rows with SQL (``INSERT ..
SELECT generate_series``; secondary indexes dropped while loading and built afterwards), the
running totals rebuilt and the tables analyzed."""

from __future__ import annotations

import time

ORGS = 50
BIG_SHARE = 5  # every 5th order belongs to the big organization: 20 %
STORES_PER_CONNECTION = 4
AUDIT_EVENTS_BIG = 100_000  # e.g. what one "ignore all filtered" of 100,000 orders leaves
FULL_ORDERS = 1_000_000
SEED_STEP = 100_000  # orders per INSERT .. SELECT statement

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
