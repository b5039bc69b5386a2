"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_notifications_notif21")]

    operations = [TenantRowLevelSecurity()]
