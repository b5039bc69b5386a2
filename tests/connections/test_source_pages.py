"""The Connections tab's shared pages name a connection's source from its provider (issue 15):
with the source renamed, none of them says "ShipStation", and the keys page shows the help its
provider chooses."""

from __future__ import annotations

import pytest

from connections.models import ConnectionMode, ConnectionStatus, OrderFileUpload
from connections.sources.csv.parser import template_csv
from connections.sources.shipstation.provider import ShipStationProvider
from tests.connections.test_connect_flow import url
from tests.connections.test_order_file import post_file
from tests.factories import SourceStoreFactory, StoreConnectionFactory
from tests.security.support import reauthenticate

pytestmark = pytest.mark.django_db

RENAMED = "Shop Source"


@pytest.fixture
def renamed(monkeypatch):
    monkeypatch.setattr(ShipStationProvider, "name", RENAMED)
    monkeypatch.setattr(
        ShipStationProvider, "credentials_lifetime_note", "Shop Source keys last a year."
    )
    monkeypatch.setattr(ShipStationProvider, "keys_help_template", "")


def main_of(response) -> str:
    """The page's own part (the footer says what Unify is for, not which source)."""
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def test_list_add_and_connection_pages_name_the_source(owner_client, org_a, renamed):
    empty = main_of(owner_client.get(url(org_a, "list")))
    assert (
        "Connect your Shop Source account to import your orders and shipping label costs." in empty
    )
    add = main_of(owner_client.get(url(org_a, "add")))
    assert "Orders from every store and marketplace connected to Shop Source, and the" in add

    connection = StoreConnectionFactory(
        organization=org_a, name="Main", status=ConnectionStatus.NEEDS_CREDENTIALS
    )
    SourceStoreFactory(connection=connection, name="Old shop", active=False)
    listed = main_of(owner_client.get(url(org_a, "list")))
    assert "Shop Source no longer accepts these keys" in listed
    assert "Syncing is paused until you enter new keys. Shop Source keys last a year." in listed
    assert url(org_a, "update_keys", connection_id=connection.pk) in listed

    detail = main_of(owner_client.get(url(org_a, "detail", connection_id=connection.pk)))
    assert "Shop Source no longer accepts this connection's API Key and API Secret." in detail
    assert "Disconnect this Shop Source account? Its keys are deleted" in detail
    assert "Stores in Shop Source" in detail
    assert "The stores and marketplaces of this Shop Source account." in detail
    assert "inactive in Shop Source" in detail

    reauthenticate(owner_client)
    keys = main_of(owner_client.get(url(org_a, "update_keys", connection_id=connection.pk)))
    assert "Unify checks them with Shop Source before saving" in keys
    assert 'data-busy-text="Checking with Shop Source…"' in keys
    assert "Where to find your keys" not in keys  # the provider chose no help
    disconnect = main_of(owner_client.get(url(org_a, "disconnect", connection_id=connection.pk)))
    assert "The Shop Source API key and secret are deleted from Unify." in disconnect
    assert "You can reconnect later with the keys from Shop Source." in disconnect

    storeless = StoreConnectionFactory(organization=org_a, name="Second")
    detail = main_of(owner_client.get(url(org_a, "detail", connection_id=storeless.pk)))
    assert "Shop Source lists no stores for this account." in detail

    for page in (empty, add, listed, detail, keys, disconnect):
        assert "ShipStation" not in page


def test_the_keys_page_shows_the_help_its_provider_chooses(owner_client, org_a):
    connection = StoreConnectionFactory(organization=org_a, name="Main")
    reauthenticate(owner_client)
    keys = main_of(owner_client.get(url(org_a, "update_keys", connection_id=connection.pk)))
    assert "Where to find your keys" in keys
    assert "In ShipStation, open Settings > Account > API Settings." in keys
    assert "Unify checks them with ShipStation before saving" in keys


def test_order_file_pages_name_the_source_of_the_expense_connection(owner_client, pro_a, renamed):
    page = main_of(owner_client.get(url(pro_a, "order_file")))
    assert "Order files belong to a Shop Source connection in shipping-expense mode" in page
    assert "Add Store > Shop Source > Continue" in page
    # (The columns' help is the order-file source's own: its status column reads ShipStation's
    # status names.)
    assert "ShipStation" not in page.split('<h2 class="h5">Columns')[0]

    StoreConnectionFactory(
        organization=pro_a, name="Shop labels", mode=ConnectionMode.SHIPPING_EXPENSE
    )
    page = main_of(owner_client.get(url(pro_a, "order_file")))
    assert "matches Shop Source's label costs to them by store and order number." in page
    post_file(owner_client, pro_a, template_csv().encode())
    upload = OrderFileUpload.all_orgs.get(organization=pro_a)
    assert upload.unknown_stores  # the connection has no stores: the file's are unknown
    result = main_of(owner_client.get(url(pro_a, "order_file_result", upload_id=upload.pk)))
    assert "not stores of this Shop Source connection" in result
    assert "Use the store's name as Shop Source shows it, or choose the Shop Source store" in (
        result
    )
    assert "ShipStation" not in page.split('<h2 class="h5">Columns')[0] + result
