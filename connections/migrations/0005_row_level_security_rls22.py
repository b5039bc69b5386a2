"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("connections", "0004_order_file_content")]

    operations = [TenantRowLevelSecurity()]
