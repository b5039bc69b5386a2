"""For every URL keyword under ``/o/<org_slug>/``: how to make an object of another
organization and get the id to put in the URL. The URL walker (tests/test_isolation_walk.py)
fails for a tenant URL whose keyword is missing here, so a new URL cannot ship unchecked.

Each maker takes the other organization (``org_b``) and returns a value for the keyword.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _membership_id(org_b) -> Any:
    from tests.factories import MembershipFactory

    return MembershipFactory(organization=org_b).pk


def _invitation_id(org_b) -> Any:
    from unify.tenancy.models import Invitation

    return Invitation.objects.create(organization=org_b, email="someone@bolt.example").pk


def _connection_id(org_b) -> Any:
    from tests.factories import StoreConnectionFactory

    return StoreConnectionFactory(organization=org_b).pk


def _store_id(org_b) -> Any:
    from tests.factories import SourceStoreFactory

    return SourceStoreFactory(connection__organization=org_b).pk


def _upload_id(org_b) -> Any:
    from connections.models import OrderFileUpload

    return OrderFileUpload.all_orgs.create(
        organization=org_b, file_name="orders.csv", file_format="csv"
    ).pk


def _run_id(org_b) -> Any:
    from django.utils import timezone

    from connections.models import StoreConnection
    from sales.models import SyncRun

    connection = StoreConnection.all_orgs.create(organization=org_b, name="Bolt ShipStation")
    now = timezone.now()
    return SyncRun.all_orgs.create(
        organization=org_b, connection=connection, kind="manual", window_start=now, window_end=now
    ).pk


def _ledger_connection_id(org_b) -> Any:
    from tests.factories import LedgerConnectionFactory

    return LedgerConnectionFactory(organization=org_b).pk


def _posting_id(org_b) -> Any:
    from tests.accounting.factories import make_posting

    return make_posting(org_b).pk


def _batch_id(org_b) -> Any:
    from tests.accounting.factories import make_posting

    return make_posting(org_b).batch_id


def _order_id(org_b) -> Any:
    from tests.sales.factories import make_order

    return make_order(org_b, lines=[{"sku": "B-SKU"}]).pk


def _action_id(org_b) -> Any:
    from sales.models import OrderBulkAction

    return OrderBulkAction.all_orgs.create(organization=org_b, kind="ignore").pk


def _notification_id(org_b) -> Any:
    from tests.factories import MembershipFactory
    from unify.notifications.models import Notification, NotificationEvent

    event = NotificationEvent.all_orgs.create(
        organization=org_b, kind="first_import", dedupe_key=f"walker:{org_b.pk}"
    )
    user = MembershipFactory(organization=org_b).user
    return Notification.all_orgs.create(organization=org_b, event=event, user=user).pk


OBJECT_MAKERS: dict[str, Callable[[Any], Any]] = {
    "notification_id": _notification_id,
    "order_id": _order_id,
    "action_id": _action_id,
    "ledger_connection_id": _ledger_connection_id,
    "posting_id": _posting_id,
    "batch_id": _batch_id,
    "membership_id": _membership_id,
    "run_id": _run_id,
    "invitation_id": _invitation_id,
    "connection_id": _connection_id,
    "store_id": _store_id,
    "upload_id": _upload_id,
}

# URL keywords under /o/<org_slug>/ that name no tenant object (a provider key, a report
# kind, a page name): map each to a function returning a valid value. The walker then checks
# such URLs with organization B's slug only, and fills these keywords in the other checks.
PLAIN_VALUES: dict[str, Callable[[Any], Any]] = {
    "provider": lambda org_b: "qbo",  # accounting: a ledger provider key
}


# Keywords of the support console's URLs (/support/...), for the walker's "404 for everyone
# but staff" check: an object of organization B.
SUPPORT_VALUES: dict[str, Callable[[Any], Any]] = {
    "organization_id": lambda org_b: org_b.pk,
    "action": lambda org_b: "change_plan",
}
