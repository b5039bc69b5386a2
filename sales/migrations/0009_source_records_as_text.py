"""Source records are stored as their JSON text (``text``) instead of ``jsonb``: nothing
queries inside them, and parsing each one into ``jsonb`` was a third of a first import's
database time. The lz4 compression set by 0006 is set again on the new column type.
Only PostgreSQL changes: on SQLite a JSON field is text already."""

import importlib

from django.db import migrations

# 0006's check for a server built with lz4 (a migration module's name is not an identifier).
_lz4 = importlib.import_module("sales.migrations.0006_lz4_source_records")

COLUMNS = [("sales_order", "raw"), ("sales_shippingcost", "raw")]


def _retype(schema_editor, sql_type: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in COLUMNS:
            cursor.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type} "
                f"USING {column}::{sql_type}"
            )
            if _lz4._lz4_available(cursor):
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def forwards(apps, schema_editor):
    _retype(schema_editor, "text")


def backwards(apps, schema_editor):
    _retype(schema_editor, "jsonb")


class Migration(migrations.Migration):
    dependencies = [("sales", "0008_organization_key_without_own_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
