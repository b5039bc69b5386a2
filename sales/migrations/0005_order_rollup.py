"""Running totals of the orders for the Sales tab, kept by PostgreSQL triggers (see
sales/rollup.py). PostgreSQL only: on SQLite this migration does nothing and the Sales tab
adds up the orders directly."""

from django.db import migrations

DIMENSIONS = """
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
"""
COLUMNS = (
    "organization_id, store_id, connection_id, status, posting_status, has_label, "
    "has_difference, currency, orders, order_total, shipping_charged, label_costs"
)
ROW = (
    "organization_id, COALESCE(source_store_id, 0), COALESCE(connection_id, 0), status, "
    "posting_status, label_status = 'has_label', reconciliation_difference <> 0, currency"
)
SIGNED = (
    "{sign} * count(*), {sign} * sum(order_total), {sign} * sum(shipping_charged), "
    "{sign} * sum(label_cost_total + return_label_cost_total)"
)
# What the totals read from an order: an UPDATE that changes none of these is not a change.
WATCHED = (
    "organization_id", "source_store_id", "connection_id", "status", "posting_status",
    "label_status", "reconciliation_difference", "currency", "order_total", "shipping_charged",
    "label_cost_total", "return_label_cost_total",
)  # fmt: skip
CHANGED = (
    f"({', '.join('n.' + c for c in WATCHED)}) IS DISTINCT FROM "
    f"({', '.join('o.' + c for c in WATCHED)})"
)
SUMMED = (
    "organization_id, store_id, connection_id, status, posting_status, has_label, "
    "has_difference, currency, sum(orders), sum(order_total), sum(shipping_charged), "
    "sum(label_costs)"
)
GROUPS = "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"

FORWARD = f"""
-- No foreign keys: deleting an organization deletes its orders, whose DELETE triggers net
-- its totals to zero (compaction then drops them), and a key would stop Django's test
-- flush from truncating tenancy_organization.
CREATE TABLE sales_order_rollup (
    organization_id bigint NOT NULL,
    {DIMENSIONS},
    PRIMARY KEY (organization_id, store_id, connection_id, status, posting_status, has_label,
                 has_difference, currency)
);
CREATE TABLE sales_order_rollup_delta (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    {DIMENSIONS}
);
CREATE INDEX sales_order_rollup_delta_org ON sales_order_rollup_delta (organization_id);

CREATE FUNCTION sales_order_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_rollup_delta ({COLUMNS})
    SELECT {ROW}, {SIGNED.format(sign=1)} FROM new_rows {GROUPS};
    RETURN NULL;
END $$;

CREATE FUNCTION sales_order_rollup_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_rollup_delta ({COLUMNS})
    SELECT {ROW}, {SIGNED.format(sign=-1)} FROM old_rows {GROUPS};
    RETURN NULL;
END $$;

-- Minus the old values, plus the new ones, of the rows whose counted columns changed.
CREATE FUNCTION sales_order_rollup_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_order_rollup_delta ({COLUMNS})
    SELECT {SUMMED} FROM (
        SELECT {ROW}, {SIGNED.format(sign=-1)} FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND {CHANGED})
        {GROUPS}
        UNION ALL
        SELECT {ROW}, {SIGNED.format(sign=1)} FROM new_rows n
        WHERE EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND {CHANGED})
        {GROUPS}
    ) AS changes ({COLUMNS})
    {GROUPS}
    HAVING sum(orders) <> 0 OR sum(order_total) <> 0 OR sum(shipping_charged) <> 0
        OR sum(label_costs) <> 0;
    RETURN NULL;
END $$;

-- TRUNCATE fires no row triggers: empty the totals with the orders.
CREATE FUNCTION sales_order_rollup_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE sales_order_rollup, sales_order_rollup_delta;
    RETURN NULL;
END $$;

CREATE TRIGGER sales_order_rollup_truncate AFTER TRUNCATE ON sales_order
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_rollup_on_truncate();
CREATE TRIGGER sales_order_rollup_insert AFTER INSERT ON sales_order
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_rollup_on_insert();
CREATE TRIGGER sales_order_rollup_delete AFTER DELETE ON sales_order
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_rollup_on_delete();
CREATE TRIGGER sales_order_rollup_update AFTER UPDATE ON sales_order
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_order_rollup_on_update();

LOCK TABLE sales_order IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO sales_order_rollup ({COLUMNS})
SELECT {ROW}, {SIGNED.format(sign=1)} FROM sales_order {GROUPS};
"""  # noqa: S608 - a fixed script assembled from the constants above

BACKWARD = """
DROP TRIGGER IF EXISTS sales_order_rollup_insert ON sales_order;
DROP TRIGGER IF EXISTS sales_order_rollup_delete ON sales_order;
DROP TRIGGER IF EXISTS sales_order_rollup_update ON sales_order;
DROP TRIGGER IF EXISTS sales_order_rollup_truncate ON sales_order;
DROP FUNCTION IF EXISTS sales_order_rollup_on_truncate();
DROP FUNCTION IF EXISTS sales_order_rollup_on_insert();
DROP FUNCTION IF EXISTS sales_order_rollup_on_delete();
DROP FUNCTION IF EXISTS sales_order_rollup_on_update();
DROP TABLE IF EXISTS sales_order_rollup_delta;
DROP TABLE IF EXISTS sales_order_rollup;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # One call without parameters: the script holds function bodies (with semicolons).
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0004_raw_source_record_field"),
        ("tenancy", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
