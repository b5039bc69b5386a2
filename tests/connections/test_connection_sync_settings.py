"""A ShipStation connection's sync settings and store toggles, through Django's test client and
the ShipStation stand-in over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections import services
from connections.models import SourceStore, StoreConnection
from tests.connections.test_connect_flow import connect, url
from unify.core.models import AuditEvent

pytestmark = pytest.mark.django_db


# --- settings and stores --------------------------------------------------------------------


def settings_body(connection, **changes):
    stores = SourceStore.all_orgs.filter(connection=connection)
    body = {
        "name": connection.name,
        "import_start_date": connection.import_start_date.isoformat(),
        "order_statuses": list(connection.order_statuses),
        "included_stores": [str(s.pk) for s in stores if s.included],
        "auto_sync_enabled": "on",
        "sync_interval_minutes": str(connection.sync_interval_minutes),
        "pull_label_costs": "on",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_sync_settings_are_saved_and_audited(owner_client, pro_a, ss):
    connect(owner_client, pro_a)
    connection = StoreConnection.all_orgs.get(organization=pro_a)
    first_store = SourceStore.all_orgs.filter(connection=connection, active=True).first()
    start = timezone.now().date() - timedelta(days=90)
    included = [
        str(s.pk)
        for s in SourceStore.all_orgs.filter(connection=connection, active=True)
        if s.pk != first_store.pk
    ]
    response = owner_client.post(
        url(pro_a, "settings", connection_id=connection.pk),
        settings_body(
            connection,
            import_start_date=start.isoformat(),
            order_statuses=["shipped", "awaiting_shipment"],
            sync_interval_minutes="60",
            pull_label_costs=None,
            included_stores=included,
        ),
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.import_start_date == start
    assert connection.order_statuses == ["shipped", "awaiting_shipment"]
    assert connection.sync_interval_minutes == 60
    assert connection.pull_label_costs is False
    assert connection.next_sync_at is not None
    first_store.refresh_from_db()
    assert first_store.included is False
    [event] = AuditEvent.objects.filter(organization=pro_a, action="connection.settings_changed")
    assert set(event.metadata["changed"]) == {
        "import_start_date",
        "order_statuses",
        "sync_interval_minutes",
        "pull_label_costs",
        "stores",
    }
    assert event.metadata["stores"] == {first_store.name: False}


def test_sync_interval_is_limited_by_the_plan(owner_client, org_a, owner_of_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    html = owner_client.get(url(org_a, "detail", connection_id=connection.pk)).content.decode()
    assert '<option value="60"' not in html and '<option value="1440"' in html
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, sync_interval_minutes="60"),
    )
    assert response.status_code == 400
    with pytest.raises(services.ConnectionRefused) as info:
        services.connection_update_settings(
            connection=connection,
            actor=owner_of_a.user,
            import_start_date=connection.import_start_date,
            order_statuses=["shipped"],
            sync_interval_minutes=60,
            auto_sync_enabled=True,
            pull_label_costs=True,
        )
    assert info.value.code == "plan_interval"
    connection.refresh_from_db()
    assert connection.sync_interval_minutes == 1440


def test_settings_refuse_a_future_start_date_and_no_status(owner_client, org_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    future = (timezone.now() + timedelta(days=3)).date().isoformat()
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, import_start_date=future),
    )
    assert "The start date cannot be in the future." in response.content.decode()
    response = owner_client.post(
        url(org_a, "settings", connection_id=connection.pk),
        settings_body(connection, order_statuses=None),
    )
    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.order_statuses == ["shipped"]


def test_store_toggle_with_htmx_returns_the_row(owner_client, org_a, ss):
    connect(owner_client, org_a)
    connection = StoreConnection.all_orgs.get(organization=org_a)
    store = SourceStore.all_orgs.filter(connection=connection, included=True).first()
    response = owner_client.post(
        url(org_a, "store_toggle", connection_id=connection.pk, store_id=store.pk),
        {"included": "0"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f'id="store-{store.pk}"' in response.content.decode()
    assert f"Import {store.name}" in response.content.decode()
    store.refresh_from_db()
    assert store.included is False
    assert AuditEvent.objects.filter(organization=org_a, action="connection.store_toggled").exists()
