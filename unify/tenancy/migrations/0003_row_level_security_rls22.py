"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_userprofile_language_de23")]

    operations = [TenantRowLevelSecurity()]
