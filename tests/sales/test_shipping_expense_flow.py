"""Shipping-expense mode as a new merchant uses it, through the views: Connect Store in
shipping-expense mode with a ShipStation account of their own (not the demo fixtures), a shop
export typed from what that account shows, uploaded before and after the labels arrive.
ShipStation is the stand-in over HTTP; PostgreSQL is real."""

from __future__ import annotations

import re

import requests
from django.urls import reverse

from connections.models import ConnectionMode, StoreConnection
from sales.models import LabelStatus, Order, ShippingCost
from tests.merchant import shipstation_account, shop_export_csv
from tests.sales.support import run_sync
from unify.tenancy.scoping import org_scope

KEY, SECRET = "merchant-two-key-7f31", "merchant-two-secret-c4d9"


def _connect(client, org) -> StoreConnection:
    response = client.post(
        reverse("connections:add_shipstation", kwargs={"org_slug": org.slug}),
        {"api_key": KEY, "api_secret": SECRET, "name": "Shop labels",
         "mode": ConnectionMode.SHIPPING_EXPENSE},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    return StoreConnection.all_orgs.get(organization=org)


def _upload(client, org, connection, data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("connections:order_file", kwargs={"org_slug": org.slug}),
        {"connection": connection.pk, "file": SimpleUploadedFile(name, data)},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    # The worker's part (order_file_process_task): read the file just kept.
    from connections.models import OrderFileUpload
    from connections.order_files import order_file_process

    upload = OrderFileUpload.all_orgs.filter(organization=org).latest("pk")
    with org_scope(org.pk):
        order_file_process(upload_id=upload.pk)
    return response


def test_labels_attach_to_uploaded_orders_whichever_arrives_first(
    ss_app, client, org_a, owner_of_a, org_b
):
    org_a.plan = "pro"
    org_a.save()
    ss_app.add_account(KEY, SECRET, seed=4242, orders=90, days=20, stores=3)
    client.force_login(owner_of_a.user)
    connection = _connect(client, org_a)

    seen = shipstation_account(ss_app.base_url, KEY, SECRET)
    labelled = [o for o in seen if o.label_cost > 0 and o.store_name]
    assert len(labelled) >= 12
    before, after = labelled[:6], labelled[6:12]

    # Another store of the same account uses one of those order numbers for its own order,
    # with a label of its own: numbers repeat across stores, so it must never be mixed up.
    twin_of = before[0]
    other_store = next(o.store_id for o in seen if o.store_id != twin_of.store_id)
    control = f"{ss_app.base_url}/__sandbox__/shipstation/accounts/{KEY}"
    twin = requests.post(
        f"{control}/orders",
        json={"storeId": other_store, "orderNumber": twin_of.number, "orderStatus": "shipped"},
        timeout=10,
    ).json()
    requests.post(
        f"{control}/orders/{twin['orderId']}/labels", json={"shipmentCost": "99.99"}, timeout=10
    ).raise_for_status()

    # Orders first, labels later (the first import has not run yet).
    _upload(client, org_a, connection, shop_export_csv(before), "week-1.csv")
    run = run_sync(org_a, connection)
    assert run.orders_created == 0

    # Labels first, orders later; this file also carries the shop's order keys.
    response = _upload(client, org_a, connection, shop_export_csv(after, with_order_key=True),
                       "week-2.csv")  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="costs-matched">' + str(sum(
        len([lb for lb in o.labels]) for o in after)) in page  # fmt: skip

    with org_scope(org_a.pk):
        orders = {o.number: o for o in Order.objects.filter(connection=connection)}
        assert sorted(orders) == sorted(o.number for o in before + after)
        for seen_order in before + after:
            order = orders[seen_order.number]
            assert order.label_cost_total == seen_order.label_cost, seen_order.number
            assert order.label_status == LabelStatus.HAS_LABEL
            assert str(order.source_store.external_id) == str(seen_order.store_id)
            # Each label of that ShipStation order, and no other, is on the uploaded order.
            assert set(
                ShippingCost.objects.filter(order=order).values_list("external_id", flat=True)
            ) == {str(lb.shipment_id) for lb in seen_order.labels}
        twin_label = ShippingCost.objects.get(order_external_id=str(twin["orderId"]))
        assert twin_label.order_id is None  # its store's order was never uploaded
        waiting = ShippingCost.objects.filter(connection=connection, order__isnull=True).count()
        total = ShippingCost.objects.filter(connection=connection).count()
        assert waiting == total - sum(len(o.labels) for o in before + after)

    # The Sales tab's connection filter finds them; the connection's order count shows them.
    listing = client.get(
        reverse("sales:list", kwargs={"org_slug": org_a.slug}), {"connection": connection.pk}
    ).content.decode()
    for seen_order in before + after:
        assert f"#{seen_order.number}" in listing or seen_order.number in listing
    connections_page = client.get(
        reverse("connections:list", kwargs={"org_slug": org_a.slug})
    ).content.decode()
    row = re.search(
        r"<tr[^>]*>(?:(?!</tr>).)*Shop labels(?:(?!</tr>).)*</tr>", connections_page, re.S
    )
    assert row is not None
    assert '<td class="text-end">12</td>' in row.group(0)

    # Another organization's member sees none of it.
    with org_scope(org_b.pk):
        assert not Order.objects.exists()
