"""Names people type (organization, connection) stand in email subjects as one line of plain
text: a line break in a name cannot add a header, break the mail or go unsent."""

from __future__ import annotations

import pytest
from django.core import mail

from accounting.models import LedgerConnection, LedgerStatus
from accounting.services.connections import ledger_mark_needs_reauth
from sales.services.notify import connection_needs_credentials
from tests.factories import StoreConnectionFactory
from tests.notifications.delivery import deliver_notification_emails
from unify.core.mail import subject_text
from unify.tenancy import services as tenancy_services
from unify.tenancy.models import Organization
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

HOSTILE = "Acme\r\nBcc: victim@example.com\u2028& <Sons>\x07"
ONE_LINE = "Acme Bcc: victim@example.com & <Sons>"


def _only_mail():
    deliver_notification_emails()  # events' emails go out from a task
    assert len(mail.outbox) == 1
    message = mail.outbox[0].message()  # what the SMTP server would get
    assert message["Bcc"] is None
    return mail.outbox[0]


def test_invitation_subject_is_one_plain_line(owner_of_a, org_a):
    Organization.objects.filter(pk=org_a.pk).update(name=HOSTILE)
    owner_of_a.refresh_from_db()

    tenancy_services.invitation_create(
        actor_membership=owner_of_a,
        email="new@example.com",
        role="member",
        accept_url_builder=lambda invitation: "https://unify.example.com/invitations/x/",
    )

    assert _only_mail().subject == f"You are invited to {ONE_LINE} on Unify"


def test_needs_new_keys_subject_is_one_plain_line(
    owner_of_a, org_a, django_capture_on_commit_callbacks
):
    connection = StoreConnectionFactory(organization=org_a, name="Main\nstore &amp; <b>")

    # In the scope, as the sync calls it.
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        assert connection_needs_credentials(connection=connection, reason="401")

    assert _only_mail().subject == "[Unify] ShipStation needs new API keys for Main store &amp; <b>"


def test_ledger_reconnect_subject_is_one_plain_line(
    owner_of_a, org_a, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=org_a.pk).update(name=HOSTILE)
    ledger = LedgerConnection.all_orgs.create(
        organization=org_a, provider="qbo", company_id="1", status=LedgerStatus.ACTIVE
    )

    # In the scope, as the posting drain calls it.
    with django_capture_on_commit_callbacks(execute=True), org_scope(org_a.pk):
        assert ledger_mark_needs_reauth(connection_id=ledger.pk)

    assert _only_mail().subject == f"[Unify] Reconnect QuickBooks Online for {ONE_LINE}"


def test_subject_text_keeps_a_long_name_readable():
    assert subject_text("  Tabs\tand   spaces ") == "Tabs and spaces"
    assert subject_text("x" * 300) == "x" * 99 + "…"
