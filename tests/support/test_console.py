"""The support console (/support/): staff with a second factor only; search by organization
name, member email, ShipStation key hint and order number; the organization page (keys
masked to their hint, "why did this order not post?"); confirmed safe actions, each run
through the merchant's own service and written to the organization's activity log, as is
every page opened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounting.models import Posting
from connections.models import StoreConnection
from sales.models import SyncRun
from tests.factories import MembershipFactory, UserFactory
from tests.sales.support import SS_KEY, SS_SECRET
from unify.core.models import AuditEvent
from unify.tenancy.models import Role

pytestmark = pytest.mark.django_db


def audit(org, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=org, action=action).order_by("id"))


def test_staff_without_a_second_factor_set_one_up_first(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    response = client.get(reverse("support:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_a_member_who_is_not_staff_gets_404(client, owner_of_a):
    client.force_login(owner_of_a.user)
    assert client.get(reverse("support:home")).status_code == 404


def test_search_by_name_email_key_hint_and_order_number(staff_client, org_a, org_b, merchant):
    order = merchant["posting"].order
    member = MembershipFactory(organization=org_a, role=Role.MEMBER, user__email="pat@acme.example")

    def found(q: str) -> str:
        response = staff_client.get(reverse("support:home"), {"q": q})
        assert response.status_code == 200
        page = response.content.decode()
        table = page[page.index('data-testid="support-results"') :]
        return table[: table.index("</table>")]

    by_name = found(org_a.name[:4])
    assert org_a.name in by_name and org_b.name not in by_name
    assert org_a.name in found(member.user.email)
    assert org_a.name in found(SS_KEY[-4:])
    assert org_a.name in found(order.number)
    assert "No organization matches." in found("nothing-like-this")
    # Each lookup that showed the organization is in its activity log.
    assert len(audit(org_a, "support.viewed")) == 4
    assert audit(org_b, "support.viewed") == []


def test_organization_page_masks_keys_explains_an_order_and_is_audited(
    staff_client, staff, org_a, merchant
):
    order = merchant["posting"].order
    url = reverse("support:organization", kwargs={"organization_id": org_a.pk})
    page = staff_client.get(url, {"order": order.number}).content.decode()
    assert f"…{SS_KEY[-4:]}" in page
    assert SS_KEY not in page and SS_SECRET not in page
    orders = page[page.index('data-testid="support-orders"') :]
    orders = orders[: orders.index("</table>")]
    assert order.number in orders and "QuickBooks refused it." in orders
    assert 'data-testid="support-banner"' in page
    (event,) = audit(org_a, "support.viewed")
    assert event.actor == staff
    assert event.metadata == {"page": "support.organization", "order": order.number}


def test_each_action_asks_for_confirmation_runs_and_is_logged(
    staff_client, staff, org_a, owner_of_a, merchant, django_capture_on_commit_callbacks
):
    connection = merchant["connection"]

    def act(action: str, **data):
        url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": action})
        confirm = staff_client.get(url, data)
        assert confirm.status_code == 200
        assert 'data-testid="support-confirm"' in confirm.content.decode()
        return staff_client.post(url, data)

    # A confirmation page changes nothing.
    before = SyncRun.all_orgs.filter(organization=org_a).count()
    url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": "sync_now"})
    staff_client.get(url, {"connection_id": connection.pk})
    assert SyncRun.all_orgs.filter(organization=org_a).count() == before

    with django_capture_on_commit_callbacks(execute=False):
        assert act("sync_now", connection_id=connection.pk).status_code == 302
    assert SyncRun.all_orgs.filter(organization=org_a).count() == before + 1

    with django_capture_on_commit_callbacks(execute=False):
        act("retry_failed")
    assert Posting.all_orgs.get(pk=merchant["posting"].pk).status != "failed"

    act("pause_schedule", connection_id=connection.pk)
    assert not StoreConnection.all_orgs.get(pk=connection.pk).auto_sync_enabled
    act("resume_schedule", connection_id=connection.pk)
    assert StoreConnection.all_orgs.get(pk=connection.pk).auto_sync_enabled

    act("change_plan", plan="pro")
    org_a.refresh_from_db()
    assert org_a.plan == "pro"

    logged = audit(org_a, "support.action")
    assert [e.metadata["action"] for e in logged] == [
        "sync_now", "retry_failed", "pause_schedule", "resume_schedule", "change_plan",
    ]  # fmt: skip
    assert all(e.actor == staff for e in logged)
    assert logged[-1].metadata["from"] == "starter" and logged[-1].metadata["to"] == "pro"
    # Every confirmation page opened is logged too.
    confirms = [
        e for e in audit(org_a, "support.viewed") if e.metadata["page"] == "support.confirm"
    ]
    assert len(confirms) == 6
    # The owners see it in their activity log.
    staff_client.force_login(owner_of_a.user)
    owner_page = reverse("tenancy:settings_organization", kwargs={"org_slug": org_a.slug})
    assert "support.action" in staff_client.get(owner_page).content.decode()


def test_an_action_on_another_organizations_connection_is_refused(
    staff_client, org_a, org_b, merchant
):
    other = StoreConnection.all_orgs.create(organization=org_b, name="B")
    url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": "sync_now"})
    response = staff_client.post(url, {"connection_id": other.pk}, follow=True)
    assert "Choose a connection of this organization." in response.content.decode()
    assert SyncRun.all_orgs.filter(connection=other).count() == 0
    assert audit(org_a, "support.action") == []


# --- view as merchant ----------------------------------------------------------------------


def test_view_as_merchant_is_read_only_audited_and_for_that_organization_only(
    staff_client, staff, org_a, org_b, owner_of_a, merchant
):
    base = f"/o/{org_a.slug}"
    # Without starting it, staff are strangers to the organization.
    assert staff_client.get(f"{base}/").status_code == 404
    start = reverse("support:view_as", kwargs={"organization_id": org_a.pk})
    assert staff_client.get(start).status_code == 405  # started by a POST only
    response = staff_client.post(start)
    assert response["Location"] == f"{base}/"
    assert len(audit(org_a, "support.view_as_started")) == 1

    pages = [f"{base}/", f"{base}/sales/", f"{base}/sales/{merchant['posting'].order_id}/",
             f"{base}/connections/", f"{base}/accounting/", f"{base}/settings/"]  # fmt: skip
    for url in pages:
        page = staff_client.get(url)
        assert page.status_code == 200, url
        assert 'data-testid="view-as-banner"' in page.content.decode(), url
    viewed = [e.metadata["path"] for e in audit(org_a, "support.viewed")]
    assert viewed == pages

    # Every write is refused, and so are the export and starting a ledger connection.
    before = (
        AuditEvent.objects.filter(organization=org_a)
        .exclude(action="support.view_as_refused")
        .count()
    )
    connection = merchant["connection"]
    for url, body in [
        (f"{base}/settings/", {"name": "Renamed by support", "timezone": "UTC"}),
        (f"{base}/sales/sync/{connection.pk}/now/", {}),
        (f"{base}/accounting/postings/retry/", {"all": "1"}),
        (f"{base}/connections/{connection.pk}/disconnect/", {}),
    ]:
        assert staff_client.post(url, body).status_code == 403, url
    assert staff_client.get(f"{base}/sales/export/").status_code == 403
    org_a.refresh_from_db()
    assert org_a.name != "Renamed by support"
    assert SyncRun.all_orgs.filter(organization=org_a).count() == 0
    assert Posting.all_orgs.get(pk=merchant["posting"].pk).status == "failed"
    assert len(audit(org_a, "support.view_as_refused")) == 5
    assert (
        AuditEvent.objects.filter(organization=org_a)
        .exclude(action="support.view_as_refused")
        .count()
        == before
    )

    # Another organization stays closed.
    assert staff_client.get(f"/o/{org_b.slug}/").status_code == 404

    # The owners see the visit in their activity log.
    staff_client.post(reverse("support:view_as_stop"))
    assert staff_client.get(f"{base}/").status_code == 404
    staff_client.force_login(owner_of_a.user)
    log = staff_client.get(f"{base}/settings/").content.decode()
    assert "support.view_as_started" in log and "support.viewed" in log


def test_rerun_a_sync_from_a_date_and_resend_an_invitation(
    staff_client, org_a, owner_of_a, merchant, mailoutbox, django_capture_on_commit_callbacks
):
    from datetime import datetime, timedelta

    from django.utils import timezone

    from unify.tenancy.models import Invitation

    connection = merchant["connection"]
    StoreConnection.all_orgs.filter(pk=connection.pk).update(
        orders_watermark=timezone.now(), shipments_watermark=timezone.now()
    )

    def post(action: str, **data):
        url = reverse("support:action", kwargs={"organization_id": org_a.pk, "action": action})
        assert staff_client.get(url, data).status_code == 200
        return staff_client.post(url, data, follow=True).content.decode()

    with django_capture_on_commit_callbacks(execute=False):
        page = post("sync_from", connection_id=connection.pk, from_date="2026-03-01")
    assert "Sync from 2026-03-01 queued for Main ShipStation." in page
    run = SyncRun.all_orgs.get(organization=org_a, connection=connection)
    midnight = datetime(2026, 3, 1, tzinfo=org_a.tzinfo)
    assert run.window_start <= midnight  # the window reaches back to the date (with overlap)
    assert run.window_start >= midnight - timedelta(hours=1)
    # A second one while that run is open is refused.
    page = post("sync_from", connection_id=connection.pk, from_date="2026-02-01")
    assert "A sync of this connection is running" in page

    invitation = Invitation.objects.create(
        organization=org_a, email="new@acme.example", invited_by=owner_of_a.user,
        expires_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    page = post("resend_invitation", invitation_id=invitation.pk)
    assert "Invitation sent again to new@acme.example." in page
    (mail,) = mailoutbox
    assert mail.to == ["new@acme.example"] and invitation.token in mail.body
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert [e.metadata["action"] for e in audit(org_a, "support.action")] == [
        "sync_from", "resend_invitation",
    ]  # fmt: skip
