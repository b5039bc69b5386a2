"""The organization of a line and of a label is a copy of its parent's (the order, the
connection), whose foreign key already proves it exists: those copies lose their database
constraint, which PostgreSQL checked for every line and label a first import writes (a
tenth of its time). Deleting an organization still deletes them (Django's cascade)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0009_source_records_as_text"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="orderline",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenancy.organization",
            ),
        ),
        migrations.AlterField(
            model_name="shippingcost",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenancy.organization",
            ),
        ),
    ]
