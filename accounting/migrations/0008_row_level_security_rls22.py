"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("accounting", "0007_shipping_item_s17c")]

    operations = [TenantRowLevelSecurity()]
