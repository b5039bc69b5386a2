"""Indexes no query needs, each one more write per imported row:

- orders by (organization, exact e-mail): search is by prefix (``order_tab_email_prefix``);
- lines by (organization, SKU): the same (``orderline_tab_sku_prefix``);
- lines by order alone, and unique per (organization, order, position): one unique index on
  (order, position) serves both (a line's organization is a copy of its order's);
- labels by (organization, order): the label's own index on its order serves it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0010_organization_copies_without_constraint"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="orderline",
            name="order_line_unique_position",
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="order_org_email",
        ),
        migrations.RemoveIndex(
            model_name="orderline",
            name="order_line_org_sku",
        ),
        migrations.RemoveIndex(
            model_name="shippingcost",
            name="shipcost_org_order",
        ),
        migrations.AlterField(
            model_name="orderline",
            name="order",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="sales.order",
            ),
        ),
        migrations.AddConstraint(
            model_name="orderline",
            constraint=models.UniqueConstraint(
                fields=("order", "position"), name="order_line_unique_position"
            ),
        ),
    ]
