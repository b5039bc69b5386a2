"""Support access is always audited: every admin page of tenant data (list and detail) and
every staff change lands in that organization's activity log; a membership changed by staff
is emailed to the owners; a CSV export by staff is recorded."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounting.ledgers.qbd.models import (
    QbdDocument,
    WebConnectorExchange,
    WebConnectorSession,
    WebConnectorUser,
)
from accounting.models import LedgerConnection, LedgerStatus, Posting, PostingBatch, PostingSettings
from connections.models import OrderFileUpload
from sales.models import ImportIssue, ShippingCost, SyncKind, SyncRun, SyncStatus
from tests.factories import (
    MembershipFactory,
    SourceStoreFactory,
    StoreConnectionFactory,
    UserFactory,
)
from tests.sales.factories import make_order
from tests.security.support import enable_totp
from unify.core.admin_audit import TenantAuditedAdmin, organization_id_of
from unify.core.audit import audit_record
from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Membership, Organization, Role

pytestmark = pytest.mark.django_db


def _is_tenant_model(model) -> bool:
    return model is Organization or any(f.name == "organization" for f in model._meta.get_fields())


TENANT_ADMINS = sorted(
    (model._meta.label for model in admin.site._registry if _is_tenant_model(model)),
)


def _one_row_of(label: str, org):
    """One row of ``label`` in organization ``org`` (as the app would have written it)."""
    connection = StoreConnectionFactory(organization=org)
    ledger = LedgerConnection.all_orgs.create(
        organization=org, provider="qbo", company_id=f"c-{label}", status=LedgerStatus.ACTIVE
    )
    now = timezone.now()
    run = SyncRun.all_orgs.create(
        organization=org, connection=connection, kind=SyncKind.MANUAL,
        status=SyncStatus.SUCCEEDED, window_start=now, window_end=now,
    )  # fmt: skip
    builders = {
        "tenancy.Organization": lambda: org,
        "tenancy.Membership": lambda: MembershipFactory(organization=org, role=Role.MEMBER),
        "tenancy.Invitation": lambda: Invitation.objects.create(organization=org, email="i@x.io"),
        "core.AuditEvent": lambda: audit_record(action="x.happened", organization=org),
        "connections.StoreConnection": lambda: connection,
        "connections.SourceStore": lambda: SourceStoreFactory(connection=connection),
        "connections.OrderFileUpload": lambda: OrderFileUpload.all_orgs.create(
            organization=org, file_name="orders.csv", file_format="csv"
        ),
        "sales.Order": lambda: make_order(org, number="A-1"),
        "sales.ShippingCost": lambda: ShippingCost.all_orgs.create(
            organization=org, connection=connection, external_id="77"
        ),
        "sales.SyncRun": lambda: run,
        "sales.ImportIssue": lambda: ImportIssue.all_orgs.create(
            organization=org,
            connection=connection,
            run=run,
            kind="order",
            reason="r",
            fingerprint="f",
        ),  # fmt: skip
        "accounting.LedgerConnection": lambda: ledger,
        "accounting.PostingSettings": lambda: PostingSettings.all_orgs.create(
            organization=org, ledger_connection=ledger
        ),
        "accounting.PostingBatch": lambda: PostingBatch.all_orgs.create(
            organization=org, ledger_connection=ledger, origin="manual"
        ),
        "accounting.Posting": lambda: Posting.all_orgs.create(
            organization=org,
            ledger_connection=ledger,
            kind="sale",
            source_reference="o:1",
            idempotency_key="k-1",
            document_number="SS-1",
        ),  # fmt: skip
        "qbd.WebConnectorUser": lambda: _qbd_user(org, ledger),
        "qbd.WebConnectorSession": lambda: _qbd_session(org, ledger),
        "qbd.WebConnectorExchange": lambda: WebConnectorExchange.all_orgs.create(
            organization=org, session=_qbd_session(org, ledger), method="authenticate"
        ),
        "qbd.QbdDocument": lambda: QbdDocument.all_orgs.create(
            organization=org,
            posting=Posting.all_orgs.create(
                organization=org,
                ledger_connection=ledger,
                kind="sale",
                source_reference="o:2",
                idempotency_key="k-2",
                document_number="SS-2",
            ),
        ),  # fmt: skip
    }
    return builders[label]()


def _qbd_user(org, ledger):
    return WebConnectorUser.all_orgs.create(
        organization=org,
        ledger_connection=ledger,
        username=f"unify-{org.slug}",
        password_hash="!",
        owner_id="{00000000-0000-0000-0000-000000000001}",
        file_id="{00000000-0000-0000-0000-000000000002}",
    )


def _qbd_session(org, ledger):
    now = timezone.now()
    return WebConnectorSession.all_orgs.create(
        organization=org,
        web_connector=_qbd_user(org, ledger),
        ticket_hash=f"t-{org.slug}",
        expires_at=now,
        last_activity_at=now,
    )


@pytest.fixture
def staff_client(client):
    staff = UserFactory(username="support", is_staff=True, is_superuser=True)
    enable_totp(staff)
    client.force_login(staff)
    client.staff = staff
    return client


def test_every_tenant_admin_is_audited():
    models = {m._meta.label: ma for m, ma in admin.site._registry.items()}
    assert len(TENANT_ADMINS) == 19
    for label in TENANT_ADMINS:
        assert isinstance(models[label], TenantAuditedAdmin), label


@pytest.mark.parametrize("label", TENANT_ADMINS)
def test_list_and_detail_pages_write_the_organizations_activity_log(staff_client, org_a, label):
    row = _one_row_of(label, org_a)
    model = type(row)
    opts = model._meta
    AuditEvent.objects.exclude(action="x.happened").delete()
    rows_of_a = sum(
        1 for obj in model._default_manager.all() if organization_id_of(obj) == org_a.pk
    )

    listing = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    detail = staff_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    )

    assert (listing.status_code, detail.status_code) == (200, 200)
    viewed = AuditEvent.objects.filter(action="support.viewed").order_by("pk")
    page = f"admin:{opts.app_label}_{opts.model_name}"
    assert [(e.organization_id, e.actor_id, e.target, e.metadata) for e in viewed] == [
        (org_a.pk, staff_client.staff.pk, opts.label_lower,
         {"page": f"{page}_changelist", "rows": rows_of_a}),
        (org_a.pk, staff_client.staff.pk, f"{opts.label_lower}:{row.pk}",
         {"page": f"{page}_change"}),
    ]  # fmt: skip


def test_a_list_page_writes_each_shown_organizations_log(staff_client, org_a, org_b):
    make_order(org_a, number="A-1")
    make_order(org_a, number="A-2")
    make_order(org_b, number="B-1")

    staff_client.get(reverse("admin:sales_order_changelist"))

    viewed = AuditEvent.objects.filter(action="support.viewed")
    assert sorted((e.organization_id, e.metadata["rows"]) for e in viewed) == sorted(
        [(org_a.pk, 2), (org_b.pk, 1)]
    )


def test_staff_adding_itself_as_owner_is_logged_and_emailed_to_the_owners(
    staff_client, org_a, owner_of_a, django_capture_on_commit_callbacks
):
    staff = staff_client.staff
    form = {
        "name": org_a.name, "slug": org_a.slug, "plan": org_a.plan, "timezone": org_a.timezone,
        "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(owner_of_a.pk), "memberships-0-organization": str(org_a.pk),
        "memberships-0-user": str(owner_of_a.user.pk), "memberships-0-role": "owner",
        "memberships-1-organization": str(org_a.pk), "memberships-1-user": str(staff.pk),
        "memberships-1-role": "owner",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:tenancy_organization_change", args=[org_a.pk]), form
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Membership.objects.get(organization=org_a, user=staff)
    event = AuditEvent.objects.get(action="membership.changed_by_support")
    assert (event.organization_id, event.actor_id, event.target, event.metadata) == (
        org_a.pk, staff.pk, f"tenancy.membership:{added.pk}",
        {"change": "added", "email": staff.email, "role": "owner"},
    )  # fmt: skip
    added_row = AuditEvent.objects.get(action="support.added")
    assert added_row.metadata == {
        "model": "tenancy.membership", "by": "support", "fields": ["role", "user"],
    }  # fmt: skip
    [message] = mail.outbox
    assert message.to == [owner_of_a.user.email]
    assert message.subject == "[Unify] Support changed a membership of Acme Outdoor"
    assert message.body.startswith(
        f"Unify support ({staff.email}) added {staff.email} to Acme Outdoor as Owner."
    )


def test_staff_removing_a_membership_on_its_own_page_is_logged_and_emailed(
    staff_client, org_a, owner_of_a, member_of_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:tenancy_membership_delete", args=[member_of_a.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="membership.changed_by_support")
    assert event.metadata == {
        "change": "removed",
        "email": member_of_a.user.email,
        "role": "member",
    }
    assert AuditEvent.objects.filter(action="support.deleted", organization=org_a).count() == 1
    assert [m.to for m in mail.outbox] == [[owner_of_a.user.email]]


def test_a_csv_export_by_staff_is_recorded(client, org_a, owner_of_a):
    staff = MembershipFactory(organization=org_a, role=Role.OWNER, user__username="support").user
    staff.is_staff = True
    staff.save()
    make_order(org_a, number="A-1")
    client.force_login(staff)

    response = client.get(f"/o/{org_a.slug}/sales/export/?status=shipped")
    b"".join(response.streaming_content)

    event = AuditEvent.objects.get(action="orders.exported")
    assert (event.organization_id, event.actor_id, event.metadata) == (
        org_a.pk, staff.pk, {"by_staff": True, "query": "status=shipped"},
    )  # fmt: skip
