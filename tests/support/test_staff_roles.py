"""Staff roles: a support person (staff, not superuser) works from the support console and
has Django's admin read-only, without the models holding accounts or secrets; a superuser
keeps the full admin. A support person cannot see secrets, export a merchant's orders or
change another staff member."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.security.support import enable_totp
from unify.core.admin_site import SENSITIVE_FOR_SUPPORT, StaffRoleAdmin
from unify.tenancy.models import Organization

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def superuser_client(db):
    client = Client()  # not the ``client`` fixture, which is the support person's
    user = UserFactory(username="root-1", email="root@unify.example", is_staff=True)
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    enable_totp(user)
    client.force_login(User.objects.get(pk=user.pk))
    return client


def admin_url(label: str, view: str, *args) -> str:
    app_label, model = label.split(".")
    return reverse(f"admin:{app_label}_{model.lower()}_{view}", args=args)


def test_every_registered_admin_has_the_staff_roles():
    assert admin.site._registry  # the walk below is not empty
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, StaffRoleAdmin), model._meta.label
    registered = {model._meta.label for model in admin.site._registry}
    assert registered >= SENSITIVE_FOR_SUPPORT  # no stale name that would protect nothing


def test_support_is_refused_every_sensitive_model_which_a_superuser_opens(
    staff_client, superuser_client, merchant
):
    index = staff_client.get("/admin/")
    assert index.status_code == 200
    page = index.content.decode()
    for label in sorted(SENSITIVE_FOR_SUPPORT):
        assert admin_url(label, "changelist") not in page, label
        assert staff_client.get(admin_url(label, "changelist")).status_code == 403, label
        assert superuser_client.get(admin_url(label, "changelist")).status_code == 200, label
    # The connections (which hold keys and tokens) one by one, too.
    for label, obj in [
        ("connections.StoreConnection", merchant["connection"]),
        ("accounting.LedgerConnection", merchant["ledger"]),
    ]:
        assert staff_client.get(admin_url(label, "change", obj.pk)).status_code == 403
    # What support may read is listed.
    assert admin_url("sales.Order", "changelist") in page


def test_support_cannot_change_another_staff_member(staff_client, superuser_client, staff):
    colleague = UserFactory(username="support-2", email="support-2@unify.example", is_staff=True)
    url = admin_url("auth.User", "change", colleague.pk)
    assert staff_client.get(url).status_code == 403
    response = staff_client.post(
        url, {"username": "support-2", "email": "mine@evil.example", "is_superuser": "on"}
    )
    assert response.status_code == 403
    colleague.refresh_from_db()
    assert (colleague.email, colleague.is_superuser) == ("support-2@unify.example", False)
    # Nor themselves into a superuser.
    assert staff_client.get(admin_url("auth.User", "change", staff.pk)).status_code == 403
    assert staff_client.get(admin_url("auth.User", "add")).status_code == 403
    # A superuser can.
    assert superuser_client.get(url).status_code == 200


def test_support_reads_the_admin_but_changes_nothing(staff_client, org_a, owner_of_a, merchant):
    order_id = merchant["posting"].order_id
    page = staff_client.get(admin_url("sales.Order", "change", order_id))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # a read-only page
    org_url = admin_url("tenancy.Organization", "change", org_a.pk)
    assert staff_client.get(org_url).status_code == 200
    refused = staff_client.post(org_url, {"name": "Support was here", "plan": "pro"})
    assert refused.status_code == 403
    assert Organization.objects.get(pk=org_a.pk).name == "Acme Outdoor"
    assert staff_client.get(admin_url("tenancy.Organization", "delete", org_a.pk)).status_code == (
        403
    )
    # No bulk actions (retry, delete selected) on a list.
    postings = staff_client.get(admin_url("accounting.Posting", "changelist"))
    assert postings.status_code == 200
    assert 'name="action"' not in postings.content.decode()


def test_support_viewing_as_the_merchant_cannot_export_or_carry_off_files(
    staff_client, org_a, owner_of_a, merchant
):
    base = f"/o/{org_a.slug}"
    # Without "view as", support is a stranger to the organization: no export either.
    assert staff_client.get(f"{base}/sales/export/").status_code == 404
    staff_client.post(reverse("support:view_as", kwargs={"organization_id": org_a.pk}))
    for url in [
        f"{base}/sales/export/",
        f"{base}/sales/export/?format=csv",
        f"{base}/connections/order-file/1/rejected-rows.csv",
        f"{base}/accounting/qbd/{merchant['ledger'].pk}/unify.qwc",
    ]:
        assert staff_client.get(url).status_code == 403, url
