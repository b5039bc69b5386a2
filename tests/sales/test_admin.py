"""Support staff's admin for the import: read-only pages, and an audited "Sync again"."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sales.models import ImportIssue, Order, SyncKind, SyncRun, SyncStatus
from tests.factories import UserFactory
from tests.sales.support import make_connection
from tests.security.support import enable_totp
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = UserFactory(username="support", is_staff=True, is_superuser=True)
    enable_totp(user)  # staff need MFA for the admin
    client.force_login(user)
    return client


def test_admin_pages_show_import_rows_read_only(staff_client, org_a):
    connection = make_connection(org_a)
    now = timezone.now()
    with org_scope(org_a.pk):
        order = Order.objects.create(
            organization=org_a, connection=connection, external_id="555", number="1001",
            raw={"orderId": 555, "internalNotes": "<b>fragile</b>"},
        )  # fmt: skip
        run = SyncRun.objects.create(
            organization=org_a, connection=connection, kind=SyncKind.MANUAL,
            status=SyncStatus.PARTIAL, window_start=now, window_end=now, lease_token="secret-ish",
        )  # fmt: skip
        ImportIssue.objects.create(
            organization=org_a, connection=connection, run=run, kind="order",
            external_ref="9", reason="orderDate is missing", fingerprint="x",
        )  # fmt: skip

    page = staff_client.get(reverse("admin:sales_order_change", args=[order.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;b&gt;fragile&lt;/b&gt;" in html  # the raw record, escaped, in a collapsed block
    assert 'name="number"' not in html  # read-only: no form inputs for the row
    for name in ("sales_syncrun", "sales_importissue", "sales_shippingcost", "sales_order"):
        assert staff_client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    run_page = staff_client.get(reverse("admin:sales_syncrun_change", args=[run.pk]))
    assert "orderDate is missing" in run_page.content.decode()
    assert "secret-ish" not in run_page.content.decode()


def test_sync_again_queues_one_run_per_connection_and_is_audited(staff_client, org_a):
    connection = make_connection(org_a)
    now = timezone.now()
    with org_scope(org_a.pk):
        runs = [
            SyncRun.objects.create(
                organization=org_a,
                connection=connection,
                kind=SyncKind.MANUAL,
                status=SyncStatus.FAILED,
                window_start=now,
                window_end=now,
            )  # fmt: skip
            for _ in range(2)
        ]

    response = staff_client.post(
        reverse("admin:sales_syncrun_changelist"),
        {"action": "sync_again", "_selected_action": [r.pk for r in runs]},
        follow=True,
    )

    assert response.status_code == 200
    queued = SyncRun.all_orgs.filter(status=SyncStatus.QUEUED)
    assert queued.count() == 1
    event = AuditEvent.objects.get(action="support.sync_requested")
    assert event.organization_id == org_a.pk
    assert event.metadata["run"] == queued.get().pk
