"""The support admin: staff only (signed in through allauth), organizations with their plan,
memberships, invitations without their token, audit events read-only; support visits and
plan changes are audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.security.support import enable_totp
from unify.core.audit import audit_record
from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser(
        username="support", email="support@unify.example", password="Support-pass-99"
    )
    enable_totp(user)  # staff need MFA for the admin (tests/security/test_staff_mfa.py)
    return user


def test_anonymous_is_sent_to_the_allauth_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"


def test_non_staff_member_gets_403(client, owner_of_a):
    client.force_login(owner_of_a.user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert client.get("/admin/tenancy/organization/").status_code in (302, 403)


def test_staff_sees_organizations_and_changes_plan(client, staff, org_a, owner_of_a):
    client.force_login(staff)
    changelist = client.get("/admin/tenancy/organization/")
    assert changelist.status_code == 200
    assert "Acme Outdoor" in changelist.content.decode()

    page = client.get(f"/admin/tenancy/organization/{org_a.pk}/change/")
    assert page.status_code == 200
    assert 'name="plan"' in page.content.decode()
    # The list and the detail page are each in the organization's log (the list was not,
    # before support access was audited everywhere: tests/security/test_admin_audit.py).
    viewed = AuditEvent.objects.filter(action="support.viewed").order_by("pk")
    assert [(e.organization, e.actor, e.metadata["page"]) for e in viewed] == [
        (org_a, staff, "admin:tenancy_organization_changelist"),
        (org_a, staff, "admin:tenancy_organization_change"),
    ]

    response = client.post(
        f"/admin/tenancy/organization/{org_a.pk}/change/",
        {
            "name": "Acme Outdoor",
            "slug": "acme",
            "plan": "pro",
            "timezone": "America/New_York",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(owner_of_a.pk),
            "memberships-0-organization": str(org_a.pk),
            "memberships-0-user": str(owner_of_a.user.pk),
            "memberships-0-role": "owner",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    org_a.refresh_from_db()
    assert org_a.plan == "pro"
    assert org_a.plan_rules.shipping_expense_mode is True
    changed = AuditEvent.objects.get(action="organization.plan_changed")
    assert changed.metadata == {"from": "starter", "to": "pro", "by": "support"}


def test_invitation_token_is_never_shown(client, staff, org_a):
    invitation = Invitation.objects.create(organization=org_a, email="x@acme.example")
    client.force_login(staff)
    for url in (
        "/admin/tenancy/invitation/",
        f"/admin/tenancy/invitation/{invitation.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert invitation.token not in response.content.decode()
    assert "x@acme.example" in client.get("/admin/tenancy/invitation/").content.decode()


def test_audit_events_are_read_only(client, staff, org_a):
    event = audit_record(action="membership.removed", organization=org_a, target="x")
    client.force_login(staff)
    assert client.get("/admin/core/auditevent/").status_code == 200
    page = client.get(f"/admin/core/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(f"/admin/core/auditevent/{event.pk}/change/", {"action": "x"}).status_code
        == 403
    )
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    assert (
        client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "membership.removed"


def test_memberships_admin_lists_roles(client, staff, owner_of_a, owner_of_b):
    client.force_login(staff)
    html = client.get("/admin/tenancy/membership/").content.decode()
    assert "owner-a" in html and "owner-b" in html
    assert Organization.objects.count() == 2
