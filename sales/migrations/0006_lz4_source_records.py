"""Source records (a few KB of JSON per order or label) are compressed with lz4 rather than
PostgreSQL's default pglz, which compresses several times slower and otherwise costs as much
as the rest of an import page's write.

The columns are set to lz4, and so is the database's default for new sessions: the import
stages each page in a temporary table (whose columns take the session default) and copies
the already compressed values across. Skipped where the server was built without lz4, and
the database default where the role may not alter the database (the columns still are)."""

from django.db import DatabaseError, migrations, transaction

COLUMNS = [("sales_order", "raw"), ("sales_shippingcost", "raw")]


def _lz4_available(cursor) -> bool:
    cursor.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if not _lz4_available(cursor):
            return
        for table, column in COLUMNS:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute(
                    "DO $$ BEGIN EXECUTE format("
                    "'ALTER DATABASE %I SET default_toast_compression = lz4', "
                    "current_database()); END $$"
                )
        except DatabaseError:
            pass


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in COLUMNS:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION DEFAULT")
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute(
                    "DO $$ BEGIN EXECUTE format("
                    "'ALTER DATABASE %I RESET default_toast_compression', "
                    "current_database()); END $$"
                )
        except DatabaseError:
            pass


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0005_order_rollup"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
