"""Month totals beside the day totals of migration 0019, for dashboard periods longer than a
couple of months (sales/rollup_daily.py): a year of day rows is tens of thousands of rows per
organization, a year of month rows a few thousand.

- ``sales_order_monthly``: the day table's dimensions with the month (its first day) instead
  of the day;
- ``sales_sku_monthly``: per month, currency and SKU, at three levels: per store (its
  connection beside it), per connection (``store_id`` -1) and for the whole organization
  (``store_id`` and ``connection_id`` -1), so that a year of top SKUs reads one row per SKU
  and month whatever the number of stores.

A month row holds the sum of the month's *folded* day rows: ``daily_rollup_compact`` adds the
day rows it folds (those the triggers appended) to their months in the same statement, and
the recompute of an organization (new time zone, rebuild) recomputes its months too. A read
of whole months is then the month rows plus the month's day rows not folded yet: exact for
the snapshot that reads them, like the day totals. No triggers are added: writers do not
pay for the months.

PostgreSQL only, like 0019."""

from django.db import migrations

ORDER_DIMS = "store_id, connection_id, status, posting_status, has_label, has_difference, currency"
ORDER_MEASURES = ("orders", "order_total", "shipping_charged", "label_costs")
SKU_MEASURES = ("quantity", "revenue")
LOCK = "PERFORM pg_advisory_xact_lock(hashtext('sales_daily_rollup'));"

# The month rows of an organization from its (now all folded) day rows.
ORDER_MONTHS_OF = f"""
    INSERT INTO sales_order_monthly (organization_id, month, {ORDER_DIMS},
                                     {", ".join(ORDER_MEASURES)})
    SELECT organization_id, date_trunc('month', day)::date, {ORDER_DIMS},
           {", ".join(f"sum({m})" for m in ORDER_MEASURES)}
    FROM sales_order_daily WHERE {{where}}
    GROUP BY organization_id, date_trunc('month', day), {ORDER_DIMS}
    HAVING {" OR ".join(f"sum({m}) <> 0" for m in ORDER_MEASURES)}
"""  # noqa: S608 - fixed names only
SKU_MONTHS_OF = """
    INSERT INTO sales_sku_monthly (organization_id, month, store_id, connection_id, currency,
                                   sku, quantity, revenue)
    SELECT organization_id, date_trunc('month', day)::date, COALESCE(store_id, -1),
           COALESCE(connection_id, -1), currency, sku, sum(quantity), sum(revenue)
    FROM sales_sku_daily WHERE {where}
    GROUP BY GROUPING SETS (
        (organization_id, date_trunc('month', day), store_id, connection_id, currency, sku),
        (organization_id, date_trunc('month', day), connection_id, currency, sku),
        (organization_id, date_trunc('month', day), currency, sku))
    HAVING sum(quantity) <> 0 OR sum(revenue) <> 0
"""

FORWARD = f"""
CREATE TABLE sales_order_monthly (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    month date NOT NULL,
    store_id bigint NOT NULL,
    connection_id bigint NOT NULL,
    status varchar(40) NOT NULL,
    posting_status varchar(20) NOT NULL,
    has_label boolean NOT NULL,
    has_difference boolean NOT NULL,
    currency varchar(3) NOT NULL,
    orders bigint NOT NULL,
    order_total numeric NOT NULL,
    shipping_charged numeric NOT NULL,
    label_costs numeric NOT NULL
);
-- The sums ride in the indexes (INCLUDE): a read of months is an index-only scan.
CREATE UNIQUE INDEX sales_order_monthly_key
    ON sales_order_monthly (organization_id, month, {ORDER_DIMS})
    INCLUDE ({", ".join(ORDER_MEASURES)});
CREATE TABLE sales_sku_monthly (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    month date NOT NULL,
    store_id bigint NOT NULL,
    connection_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    sku varchar(200) NOT NULL,
    quantity numeric NOT NULL,
    revenue numeric NOT NULL
);
CREATE UNIQUE INDEX sales_sku_monthly_key
    ON sales_sku_monthly (organization_id, store_id, connection_id, month, currency, sku)
    INCLUDE (quantity, revenue);

CREATE OR REPLACE FUNCTION sales_daily_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE sales_order_daily, sales_sku_daily, sales_order_monthly, sales_sku_monthly;
    RETURN NULL;
END $$;

-- As in 0019, and the organization's months from its days. One at a time with the compaction
-- (which adds folded days to their months): the same advisory lock, waited for here.
CREATE OR REPLACE FUNCTION sales_daily_recompute(p_org bigint, p_tz text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    {LOCK}
    DELETE FROM sales_order_daily WHERE organization_id = p_org;
    DELETE FROM sales_sku_daily WHERE organization_id = p_org;
    DELETE FROM sales_order_monthly WHERE organization_id = p_org;
    DELETE FROM sales_sku_monthly WHERE organization_id = p_org;
    INSERT INTO sales_order_daily (organization_id, day, {ORDER_DIMS},
                                   {", ".join(ORDER_MEASURES)}, folded)
    SELECT o.organization_id, (o.order_date AT TIME ZONE p_tz)::date,
           COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), o.status,
           o.posting_status, o.label_status = 'has_label', o.reconciliation_difference <> 0,
           o.currency, count(*), sum(o.order_total), sum(o.shipping_charged),
           sum(o.label_cost_total + o.return_label_cost_total), true
    FROM sales_order o WHERE o.organization_id = p_org AND o.order_date IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO sales_sku_daily (organization_id, day, store_id, connection_id, currency, sku,
                                 quantity, revenue, folded)
    SELECT o.organization_id, (o.order_date AT TIME ZONE p_tz)::date,
           COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), o.currency, l.sku,
           sum(l.quantity), sum(l.quantity * l.unit_price), true
    FROM sales_order o JOIN sales_orderline l ON l.order_id = o.id
    WHERE o.organization_id = p_org AND o.order_date IS NOT NULL
      AND o.posting_status <> 'merged' AND NOT l.is_discount AND NOT l.is_adjustment
    GROUP BY 1, 2, 3, 4, 5, 6;
    {ORDER_MONTHS_OF.format(where="organization_id = p_org")};
    {SKU_MONTHS_OF.format(where="organization_id = p_org")};
END $$;

LOCK TABLE sales_order_daily, sales_sku_daily IN SHARE ROW EXCLUSIVE MODE;
{ORDER_MONTHS_OF.format(where="folded")};
{SKU_MONTHS_OF.format(where="folded")};
"""  # noqa: S608 - a fixed script assembled from the constants above

# 0019's functions again.
BACKWARD = """
CREATE OR REPLACE FUNCTION sales_daily_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE sales_order_daily, sales_sku_daily;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION sales_daily_recompute(p_org bigint, p_tz text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_order_daily WHERE organization_id = p_org;
    DELETE FROM sales_sku_daily WHERE organization_id = p_org;
    INSERT INTO sales_order_daily (organization_id, day, store_id, connection_id, status,
        posting_status, has_label, has_difference, currency, orders, order_total,
        shipping_charged, label_costs, folded)
    SELECT o.organization_id, (o.order_date AT TIME ZONE p_tz)::date,
           COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), o.status,
           o.posting_status, o.label_status = 'has_label', o.reconciliation_difference <> 0,
           o.currency, count(*), sum(o.order_total), sum(o.shipping_charged),
           sum(o.label_cost_total + o.return_label_cost_total), true
    FROM sales_order o WHERE o.organization_id = p_org AND o.order_date IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO sales_sku_daily (organization_id, day, store_id, connection_id, currency, sku,
                                 quantity, revenue, folded)
    SELECT o.organization_id, (o.order_date AT TIME ZONE p_tz)::date,
           COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), o.currency, l.sku,
           sum(l.quantity), sum(l.quantity * l.unit_price), true
    FROM sales_order o JOIN sales_orderline l ON l.order_id = o.id
    WHERE o.organization_id = p_org AND o.order_date IS NOT NULL
      AND o.posting_status <> 'merged' AND NOT l.is_discount AND NOT l.is_adjustment
    GROUP BY 1, 2, 3, 4, 5, 6;
END $$;
DROP TABLE IF EXISTS sales_order_monthly;
DROP TABLE IF EXISTS sales_sku_monthly;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("sales", "0020_stored_text_de23")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
