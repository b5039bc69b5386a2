"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("accounting", "0008_posting_hold_reason_n21")]

    operations = [TenantRowLevelSecurity()]
