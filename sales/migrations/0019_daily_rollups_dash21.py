"""Day-by-day running totals of the orders and of their lines by SKU, for the dashboard's
charts (sales/rollup_daily.py), kept by PostgreSQL triggers like the Sales tab's totals
(migration 0005). A day is the order date's day in the organization's time zone; changing
that zone recomputes the organization's days (a trigger on tenancy_organization).

PostgreSQL only: elsewhere this migration does nothing and the dashboard adds up orders."""

from django.db import migrations

DAY = "(o.order_date AT TIME ZONE t.timezone)::date"
ORDER_COLUMNS = (
    "organization_id, day, store_id, connection_id, status, posting_status, has_label, "
    "has_difference, currency, orders, order_total, shipping_charged, label_costs"
)
ORDER_ROW = (
    f"o.organization_id, {DAY}, COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), "
    "o.status, o.posting_status, o.label_status = 'has_label', "
    "o.reconciliation_difference <> 0, o.currency"
)
ORDER_SIGNED = (
    "{sign} * count(*), {sign} * sum(o.order_total), {sign} * sum(o.shipping_charged), "
    "{sign} * sum(o.label_cost_total + o.return_label_cost_total)"
)
ORDER_GROUPS = "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
ORDER_WATCHED = (
    "organization_id", "source_store_id", "connection_id", "status", "posting_status",
    "label_status", "reconciliation_difference", "currency", "order_total", "shipping_charged",
    "label_cost_total", "return_label_cost_total", "order_date",
)  # fmt: skip
ORDER_CHANGED = (
    f"({', '.join('n.' + c for c in ORDER_WATCHED)}) IS DISTINCT FROM "
    f"({', '.join('o.' + c for c in ORDER_WATCHED)})"
)

SKU_COLUMNS = "organization_id, day, store_id, connection_id, currency, sku, quantity, revenue"
SKU_ROW = (
    f"o.organization_id, {DAY}, COALESCE(o.source_store_id, 0), COALESCE(o.connection_id, 0), "
    "o.currency, l.sku"
)
SKU_SIGNED = "{sign} * sum(l.quantity), {sign} * sum(l.quantity * l.unit_price)"
SKU_GROUPS = "GROUP BY 1, 2, 3, 4, 5, 6"
# Lines of orders that count: dated, not merged into another order, real products.
SKU_COUNTED = (
    "o.order_date IS NOT NULL AND o.posting_status <> 'merged' "
    "AND NOT l.is_discount AND NOT l.is_adjustment"
)
SKU_ORDER_WATCHED = (
    "organization_id",
    "source_store_id",
    "connection_id",
    "currency",
    "order_date",
)
SKU_ORDER_CHANGED = (
    f"({', '.join('n.' + c for c in SKU_ORDER_WATCHED)}, n.posting_status = 'merged') "
    f"IS DISTINCT FROM ({', '.join('o.' + c for c in SKU_ORDER_WATCHED)}, "
    "o.posting_status = 'merged')"
)
LINE_WATCHED = ("order_id", "sku", "quantity", "unit_price", "is_discount", "is_adjustment")
LINE_CHANGED = (
    f"({', '.join('n.' + c for c in LINE_WATCHED)}) IS DISTINCT FROM "
    f"({', '.join('l.' + c for c in LINE_WATCHED)})"
)
ORG = "JOIN tenancy_organization t ON t.id = o.organization_id"

FORWARD = f"""
CREATE TABLE sales_order_daily (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    day date NOT NULL,
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
    label_costs numeric NOT NULL,
    folded boolean NOT NULL DEFAULT false
);
CREATE INDEX sales_order_daily_org_day ON sales_order_daily (organization_id, day);
CREATE INDEX sales_order_daily_unfolded ON sales_order_daily (organization_id, day)
    WHERE NOT folded;
CREATE TABLE sales_sku_daily (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    day date NOT NULL,
    store_id bigint NOT NULL,
    connection_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    sku varchar(200) NOT NULL,
    quantity numeric NOT NULL,
    revenue numeric NOT NULL,
    folded boolean NOT NULL DEFAULT false
);
CREATE INDEX sales_sku_daily_org_day ON sales_sku_daily (organization_id, day);
CREATE INDEX sales_sku_daily_unfolded ON sales_sku_daily (organization_id, day)
    WHERE NOT folded;

CREATE FUNCTION sales_order_daily_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_daily ({ORDER_COLUMNS})
    SELECT {ORDER_ROW}, {ORDER_SIGNED.format(sign=1)} FROM new_rows o {ORG}
    WHERE o.order_date IS NOT NULL {ORDER_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_order_daily_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_daily ({ORDER_COLUMNS})
    SELECT {ORDER_ROW}, {ORDER_SIGNED.format(sign=-1)} FROM old_rows o {ORG}
    WHERE o.order_date IS NOT NULL {ORDER_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_order_daily_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_daily ({ORDER_COLUMNS})
    SELECT {ORDER_ROW}, {ORDER_SIGNED.format(sign=-1)} FROM old_rows o {ORG}
    WHERE o.order_date IS NOT NULL
      AND EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND {ORDER_CHANGED})
    {ORDER_GROUPS}
    UNION ALL
    SELECT {ORDER_ROW}, {ORDER_SIGNED.format(sign=1)} FROM new_rows o {ORG}
    WHERE o.order_date IS NOT NULL
      AND EXISTS (SELECT 1 FROM old_rows n WHERE n.id = o.id AND {ORDER_CHANGED})
    {ORDER_GROUPS};
    -- The lines of orders whose day, store, currency or merged state changed move along.
    INSERT INTO sales_sku_daily ({SKU_COLUMNS})
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=-1)}
    FROM old_rows o {ORG} JOIN sales_orderline l ON l.order_id = o.id
    WHERE {SKU_COUNTED}
      AND EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND {SKU_ORDER_CHANGED})
    {SKU_GROUPS}
    UNION ALL
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=1)}
    FROM new_rows o {ORG} JOIN sales_orderline l ON l.order_id = o.id
    WHERE {SKU_COUNTED}
      AND EXISTS (SELECT 1 FROM old_rows n WHERE n.id = o.id AND {SKU_ORDER_CHANGED})
    {SKU_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_sku_daily_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_sku_daily ({SKU_COLUMNS})
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=1)}
    FROM new_rows l JOIN sales_order o ON o.id = l.order_id {ORG}
    WHERE {SKU_COUNTED} {SKU_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_sku_daily_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_sku_daily ({SKU_COLUMNS})
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=-1)}
    FROM old_rows l JOIN sales_order o ON o.id = l.order_id {ORG}
    WHERE {SKU_COUNTED} {SKU_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_sku_daily_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_sku_daily ({SKU_COLUMNS})
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=-1)}
    FROM old_rows l JOIN sales_order o ON o.id = l.order_id {ORG}
    WHERE {SKU_COUNTED}
      AND EXISTS (SELECT 1 FROM new_rows n WHERE n.id = l.id AND {LINE_CHANGED})
    {SKU_GROUPS}
    UNION ALL
    SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=1)}
    FROM new_rows l JOIN sales_order o ON o.id = l.order_id {ORG}
    WHERE {SKU_COUNTED}
      AND EXISTS (SELECT 1 FROM old_rows n WHERE n.id = l.id AND {LINE_CHANGED})
    {SKU_GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_daily_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE sales_order_daily, sales_sku_daily;
    RETURN NULL;
END $$;

-- An organization's days recomputed from its orders in the zone ``p_tz``.
CREATE FUNCTION sales_daily_recompute(p_org bigint, p_tz text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_order_daily WHERE organization_id = p_org;
    DELETE FROM sales_sku_daily WHERE organization_id = p_org;
    INSERT INTO sales_order_daily ({ORDER_COLUMNS}, folded)
    SELECT {ORDER_ROW.replace("t.timezone", "p_tz")}, {ORDER_SIGNED.format(sign=1)}, true
    FROM sales_order o WHERE o.organization_id = p_org AND o.order_date IS NOT NULL
    {ORDER_GROUPS};
    INSERT INTO sales_sku_daily ({SKU_COLUMNS}, folded)
    SELECT {SKU_ROW.replace("t.timezone", "p_tz")}, {SKU_SIGNED.format(sign=1)}, true
    FROM sales_order o JOIN sales_orderline l ON l.order_id = o.id
    WHERE o.organization_id = p_org AND {SKU_COUNTED} {SKU_GROUPS};
END $$;

-- A new time zone moves every order to its day in that zone: recompute the organization.
CREATE FUNCTION sales_daily_on_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sales_daily_recompute(NEW.id, NEW.timezone);
    RETURN NULL;
END $$;

CREATE TRIGGER sales_daily_truncate AFTER TRUNCATE ON sales_order
    FOR EACH STATEMENT EXECUTE FUNCTION sales_daily_on_truncate();
CREATE TRIGGER sales_order_daily_insert AFTER INSERT ON sales_order
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_daily_on_insert();
CREATE TRIGGER sales_order_daily_delete AFTER DELETE ON sales_order
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_daily_on_delete();
CREATE TRIGGER sales_order_daily_update AFTER UPDATE ON sales_order
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_daily_on_update();
CREATE TRIGGER sales_sku_daily_insert AFTER INSERT ON sales_orderline
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_sku_daily_on_insert();
CREATE TRIGGER sales_sku_daily_delete AFTER DELETE ON sales_orderline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_sku_daily_on_delete();
CREATE TRIGGER sales_sku_daily_update AFTER UPDATE ON sales_orderline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_sku_daily_on_update();
CREATE TRIGGER sales_daily_timezone AFTER UPDATE OF timezone ON tenancy_organization
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION sales_daily_on_timezone();

LOCK TABLE sales_order, sales_orderline IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO sales_order_daily ({ORDER_COLUMNS})
SELECT {ORDER_ROW}, {ORDER_SIGNED.format(sign=1)} FROM sales_order o {ORG}
WHERE o.order_date IS NOT NULL {ORDER_GROUPS};
INSERT INTO sales_sku_daily ({SKU_COLUMNS})
SELECT {SKU_ROW}, {SKU_SIGNED.format(sign=1)}
FROM sales_order o {ORG} JOIN sales_orderline l ON l.order_id = o.id
WHERE {SKU_COUNTED} {SKU_GROUPS};
"""  # noqa: S608 - a fixed script assembled from the constants above

BACKWARD = """
DROP TRIGGER IF EXISTS sales_daily_timezone ON tenancy_organization;
DROP TRIGGER IF EXISTS sales_daily_truncate ON sales_order;
DROP TRIGGER IF EXISTS sales_order_daily_insert ON sales_order;
DROP TRIGGER IF EXISTS sales_order_daily_delete ON sales_order;
DROP TRIGGER IF EXISTS sales_order_daily_update ON sales_order;
DROP TRIGGER IF EXISTS sales_sku_daily_insert ON sales_orderline;
DROP TRIGGER IF EXISTS sales_sku_daily_delete ON sales_orderline;
DROP TRIGGER IF EXISTS sales_sku_daily_update ON sales_orderline;
DROP FUNCTION IF EXISTS sales_daily_on_timezone();
DROP FUNCTION IF EXISTS sales_daily_recompute(bigint, text);
DROP FUNCTION IF EXISTS sales_daily_on_truncate();
DROP FUNCTION IF EXISTS sales_order_daily_on_insert();
DROP FUNCTION IF EXISTS sales_order_daily_on_delete();
DROP FUNCTION IF EXISTS sales_order_daily_on_update();
DROP FUNCTION IF EXISTS sales_sku_daily_on_insert();
DROP FUNCTION IF EXISTS sales_sku_daily_on_delete();
DROP FUNCTION IF EXISTS sales_sku_daily_on_update();
DROP TABLE IF EXISTS sales_order_daily;
DROP TABLE IF EXISTS sales_sku_daily;
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
    dependencies = [
        ("sales", "0018_fulfillment_fees_ss16"),
        ("tenancy", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
