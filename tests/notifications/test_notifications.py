"""Notifications: each kind makes one notification per person per event (recording the same
event again does nothing), each person's choice is respected (off: nothing; digest: no email
at once, the item in yesterday's digest), the pages are the person's own, and the digest goes
once per person and day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import LedgerConnectionFactory, MembershipFactory, StoreConnectionFactory
from unify.notifications import events
from unify.notifications.digest import send_daily_digests
from unify.notifications.models import (
    Delivery,
    DigestSent,
    Kind,
    Notification,
    NotificationEvent,
)
from unify.notifications.services import preferences_save, send_notification_email
from unify.tenancy.models import Role
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def notes(org, kind=None):
    rows = Notification.all_orgs.filter(organization=org)
    if kind:
        rows = rows.filter(event__kind=kind)
    return rows


def test_keys_expired_is_one_notification_per_member_however_often_it_is_flagged(
    org_a, owner_of_a, member_of_a, owner_of_b
):
    from connections.services import connection_mark_needs_credentials

    connection = StoreConnectionFactory(organization=org_a, name="Main store")
    with org_scope(org_a.pk):
        assert connection_mark_needs_credentials(connection=connection) is True
        assert connection_mark_needs_credentials(connection=connection) is False
    rows = notes(org_a, Kind.KEYS_EXPIRED)
    assert sorted(rows.values_list("user_id", flat=True)) == sorted(
        [owner_of_a.user_id, member_of_a.user_id]
    )
    event = NotificationEvent.all_orgs.get(organization=org_a)
    assert event.link == reverse(
        "connections:update_keys", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
    )
    # Organization B's owner hears nothing of A.
    assert not Notification.all_orgs.filter(user=owner_of_b.user).exists()


def test_ledger_disconnected_once_per_incident(org_a, owner_of_a):
    from accounting.services.connections import ledger_mark_needs_reauth

    ledger = LedgerConnectionFactory(organization=org_a)
    with org_scope(org_a.pk):  # as the posting drain calls it
        assert ledger_mark_needs_reauth(connection_id=ledger.pk) is True
        assert ledger_mark_needs_reauth(connection_id=ledger.pk) is False
    assert notes(org_a, Kind.LEDGER_DISCONNECTED).count() == 1


def test_daily_limit_once_per_connection_and_day(org_a, owner_of_a):
    ledger = LedgerConnectionFactory(organization=org_a, provider="xero")
    for _ in range(3):  # every sweep that finds posting paused
        events.daily_limit_reached(ledger)
    assert notes(org_a, Kind.DAILY_LIMIT).count() == 1


def test_the_same_dedupe_key_never_makes_a_second_event(org_a, owner_of_a):
    from unify.notifications.services import notify

    for _ in range(2):
        notify(
            organization_id=org_a.pk,
            kind=Kind.FIRST_IMPORT,
            dedupe_key="first_import:4242",
            params={"name": "S"},
        )
    assert NotificationEvent.all_orgs.filter(organization=org_a).count() == 1
    assert notes(org_a, Kind.FIRST_IMPORT).count() == 1


def test_off_makes_none_and_digest_sends_no_email_at_once(
    org_a, owner_of_a, member_of_a, admin_of_a
):
    preferences_save(
        organization_id=org_a.pk,
        user_id=member_of_a.user_id,
        choices={Kind.LEDGER_DISCONNECTED: Delivery.OFF},
    )
    preferences_save(
        organization_id=org_a.pk,
        user_id=admin_of_a.user_id,
        choices={Kind.LEDGER_DISCONNECTED: Delivery.DIGEST},
    )
    ledger = LedgerConnectionFactory(organization=org_a)
    events.ledger_disconnected(ledger)
    rows = {n.user_id: n for n in notes(org_a)}
    assert member_of_a.user_id not in rows
    assert rows[admin_of_a.user_id].delivery == Delivery.DIGEST
    assert rows[owner_of_a.user_id].delivery == Delivery.IMMEDIATE
    # The digest person's notification has no email to send; the owner's is sent once.
    assert not send_notification_email(
        organization_id=org_a.pk, notification_id=rows[admin_of_a.user_id].pk
    )
    assert send_notification_email(
        organization_id=org_a.pk, notification_id=rows[owner_of_a.user_id].pk
    )
    assert not send_notification_email(
        organization_id=org_a.pk, notification_id=rows[owner_of_a.user_id].pk
    )
    assert [m.to for m in mail.outbox] == [[owner_of_a.user.email]]
    message = mail.outbox[0]
    link = "/o/acme/accounting/"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link in html

    # Next morning: the digest person gets yesterday's digest with the item, once.
    Notification.all_orgs.filter(organization=org_a).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    mail.outbox.clear()
    today = timezone.now().astimezone(org_a.tzinfo).date()
    assert send_daily_digests(today=today) == 1
    assert send_daily_digests(today=today) == 0
    assert [m.to for m in mail.outbox] == [[admin_of_a.user.email]]
    digest = mail.outbox[0]
    assert "Reconnect QuickBooks Online" in digest.body
    assert "Orders imported: 0" in digest.body
    assert digest.alternatives[0][1] == "text/html"
    assert DigestSent.all_orgs.filter(organization=org_a, user=admin_of_a.user).count() == 1


def test_pages_bell_and_mark_read(client, org_a, owner_of_a, member_of_a):
    events.ledger_disconnected(LedgerConnectionFactory(organization=org_a))
    client.force_login(owner_of_a.user)
    page = client.get(reverse("tenancy:dashboard", kwargs={"org_slug": org_a.slug}))
    assert b'data-testid="notification-count">1<' in page.content
    listing = client.get(reverse("notifications:list", kwargs={"org_slug": org_a.slug}))
    assert "Reconnect QuickBooks Online" in listing.content.decode()
    mine = Notification.all_orgs.get(user=owner_of_a.user)
    url = reverse("notifications:open", kwargs={"org_slug": org_a.slug, "notification_id": mine.pk})
    answer = client.post(url)
    assert answer.status_code == 302 and answer["Location"] == "/o/acme/accounting/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    # Another member's notification is not mine to open.
    theirs = Notification.all_orgs.get(user=member_of_a.user)
    other = reverse(
        "notifications:open", kwargs={"org_slug": org_a.slug, "notification_id": theirs.pk}
    )
    assert client.get(other).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_settings_page_saves_each_choice(client, org_a, member_of_a):
    client.force_login(member_of_a.user)
    url = reverse("notifications:settings", kwargs={"org_slug": org_a.slug})
    assert client.get(url).status_code == 200
    client.post(url, {Kind.FIRST_IMPORT: Delivery.OFF, Kind.RUN_FAILED: Delivery.DIGEST})
    from unify.notifications.services import preferences_for

    chosen = preferences_for(organization_id=org_a.pk, user_id=member_of_a.user_id)
    assert chosen[Kind.FIRST_IMPORT] == Delivery.OFF
    assert chosen[Kind.RUN_FAILED] == Delivery.DIGEST
    assert chosen[Kind.KEYS_EXPIRED] == Delivery.IMMEDIATE


def test_digest_only_to_those_who_chose_it(org_a, owner_of_a):
    MembershipFactory(organization=org_a, role=Role.MEMBER)
    assert send_daily_digests() == 0
    assert mail.outbox == []


def test_the_email_is_in_the_persons_language(org_a, owner_of_a):
    from unify.core.i18n import set_user_language

    set_user_language(owner_of_a.user, "de")
    events.ledger_disconnected(LedgerConnectionFactory(organization=org_a))
    notification = Notification.all_orgs.get(user=owner_of_a.user)
    assert send_notification_email(organization_id=org_a.pk, notification_id=notification.pk)
    (message,) = mail.outbox
    assert "Buchhaltung akzeptiert den Zugriff von Unify nicht mehr" in message.body
    assert "/o/acme/accounting/" in message.body
