"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("sales", "0021_monthly_rollups_dash21")]

    operations = [TenantRowLevelSecurity()]
