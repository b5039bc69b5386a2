"""Row-level security on the tenant tables (see unify/tenancy/rls.py)."""

from django.db import migrations

from unify.tenancy.rls import TenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("accounting", "0011_post_on_first_open_day_s17d")]

    operations = [TenantRowLevelSecurity()]
