"""Order-file orders uploaded before they belonged to a connection: when their organization
has exactly one shipping-expense connection, they move under it, with the source id that
stands for their store and number (order numbers are unique only per store). Others stay as
they were until the file is uploaded again for a connection."""

import hashlib

from django.db import migrations


def _external_id(store: str, number: str) -> str:
    digest = hashlib.blake2b(f"{store}\x00{number}".encode(), digest_size=12).hexdigest()
    return f"file-{digest}"


def adopt(apps, schema_editor):
    Order = apps.get_model("sales", "Order")
    Connection = apps.get_model("connections", "StoreConnection")
    org_ids = (
        Order._base_manager.filter(source="order_file", connection__isnull=True)
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for org_id in list(org_ids):
        connections = list(
            Connection._base_manager.filter(organization_id=org_id, mode="shipping_expense")
            .exclude(status="disabled")
            .values_list("pk", flat=True)
        )
        if len(connections) != 1:
            continue
        orders = Order._base_manager.filter(
            organization_id=org_id, source="order_file", connection__isnull=True
        )
        for order in orders.iterator():
            order.connection_id = connections[0]
            order.external_id = _external_id(order.store_name or "Order file", order.number)
            if order.order_key == f"{order.store_name}:{order.number}":
                order.order_key = ""  # made up by the old reader; never the shop's own key
            order.save(update_fields=["connection", "external_id", "order_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0015_order_merged_into"),
        ("connections", "0003_order_file_connection_and_problems"),
    ]

    operations = [migrations.RunPython(adopt, migrations.RunPython.noop)]
