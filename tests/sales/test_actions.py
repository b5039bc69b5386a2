"""Actions of the Sales tab: ignore / un-ignore (ticked or all filtered, the latter in the
background with progress), re-import from ShipStation (against the stand-in), posting
buttons without a ledger; and that another organization's ids are never acted on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from sales.models import BulkActionStatus, Order, OrderBulkAction, PostingStatus
from sales.services.review import order_bulk_action_execute
from sales.tasks_tab import order_bulk_action_task
from tests.sales.factories import bulk_orders, make_connection, make_order, make_store
from unify.core.models import AuditEvent
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db


def action_url(org) -> str:
    return reverse("sales:action", kwargs={"org_slug": org.slug})


def texts(response) -> list[str]:
    """The messages this response added (the test client does not consume earlier ones)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def statuses(org) -> dict[str, str]:
    return dict(Order.all_orgs.filter(organization=org).values_list("number", "posting_status"))


def test_ignore_selected_orders_leaves_posted_ones_and_other_organizations_alone(
    member_client, member_of_a, org_a, org_b
):
    new = make_order(org_a, number="N-1")
    failed = make_order(org_a, number="F-1", posting_status=PostingStatus.FAILED)
    posted = make_order(org_a, number="P-1", posting_status=PostingStatus.POSTED)
    theirs = make_order(org_b, number="B-1")
    b_before = statuses(org_b)

    response = member_client.post(
        action_url(org_a),
        {
            "action": "ignore",
            "ids": [new.pk, failed.pk, posted.pk, theirs.pk],
            "store": "",
            "q": "N",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/o/{org_a.slug}/sales/?q=N"
    assert statuses(org_a) == {"N-1": "ignored", "F-1": "ignored", "P-1": "posted"}
    assert Order.all_orgs.get(pk=new.pk).is_ignored is True
    assert statuses(org_b) == b_before
    events = AuditEvent.objects.filter(action="sales.order.ignored").order_by("target")
    assert [(e.organization_id, e.target, e.actor_id) for e in events] == sorted(
        [
            (org_a.pk, f"sales.order:{new.pk}", member_of_a.user_id),
            (org_a.pk, f"sales.order:{failed.pk}", member_of_a.user_id),
        ],
        key=lambda t: t[1],
    )
    assert texts(response) == [
        "2 orders ignored. Orders already posted or already ignored were left as they are."
    ]


def test_unignore_restores_failed_when_the_last_posting_failed(member_client, org_a):
    from tests.accounting.factories import make_posting

    posting = make_posting(org_a, status="failed")
    had_failed = posting.order
    Order.all_orgs.filter(pk=had_failed.pk).update(posting_status=PostingStatus.FAILED)
    plain = make_order(org_a)
    ids = [had_failed.pk, plain.pk]
    member_client.post(action_url(org_a), {"action": "ignore", "ids": ids})
    assert set(Order.all_orgs.filter(pk__in=ids).values_list("posting_status", flat=True)) == {
        "ignored"
    }

    response = member_client.post(action_url(org_a), {"action": "unignore", "ids": ids})

    assert Order.all_orgs.get(pk=had_failed.pk).posting_status == PostingStatus.FAILED
    assert Order.all_orgs.get(pk=plain.pk).posting_status == PostingStatus.NOT_POSTED
    assert not Order.all_orgs.filter(pk__in=ids, is_ignored=True).exists()
    assert texts(response) == ["2 orders no longer ignored."]


def test_ignoring_from_the_order_page_returns_to_it(member_client, org_a):
    order = make_order(org_a, number="D-1")
    response = member_client.post(
        action_url(org_a),
        {"action": "ignore", "ids": [order.pk], "order": order.pk, "back": "q=D"},
    )
    assert response["Location"] == f"/o/{org_a.slug}/sales/{order.pk}/?back=q%3DD"
    page = member_client.get(response["Location"])
    assert b'data-testid="unignore-order"' in page.content
    assert b"Ignored" in page.content  # the audit trail line


def test_nothing_selected_or_too_many_selected_changes_nothing(member_client, org_a):
    order = make_order(org_a)
    response = member_client.post(action_url(org_a), {"action": "ignore"})
    assert texts(response) == ["Select at least one order first."]
    response = member_client.post(
        action_url(org_a), {"action": "ignore", "ids": [order.pk, *range(10**6, 10**6 + 500)]}
    )
    assert texts(response) == [
        "Select at most 500 orders, or use the action on all filtered orders."
    ]
    assert Order.all_orgs.get(pk=order.pk).posting_status == PostingStatus.NOT_POSTED


def test_ignore_all_filtered_runs_in_the_background_in_checkpointed_chunks(
    member_client, member_of_a, org_a, org_b, django_capture_on_commit_callbacks
):
    connection = make_connection(org_a)
    shop, other = make_store(connection, "Shop"), make_store(connection, "Other")
    bulk_orders(org_a, 25, source_store=shop)
    bulk_orders(org_a, 2, source_store=shop, posting_status=PostingStatus.POSTED)
    bulk_orders(org_a, 5, source_store=other)
    bulk_orders(org_b, 5)
    b_before = statuses(org_b)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_client.post(
            action_url(org_a), {"action": "ignore:filtered", "store": shop.pk, "per": "50"}
        )
    assert response["Location"] == f"/o/{org_a.slug}/sales/?store={shop.pk}&per=50"
    assert len(callbacks) == 1  # the task is queued after the commit, not run in the request
    action = OrderBulkAction.all_orgs.get(organization=org_a)
    assert (action.kind, action.status, action.filters["store_id"]) == ("ignore", "queued", shop.pk)
    assert not Order.all_orgs.filter(organization=org_a, is_ignored=True).exists()

    with org_scope(org_a.pk):
        first = order_bulk_action_execute(
            organization_id=org_a.pk, action_id=action.pk, chunk_size=10, budget_seconds=0
        )
    assert first.continue_later
    action.refresh_from_db()
    assert (action.status, action.total, action.done, action.changed) == ("running", 27, 10, 10)
    progress = member_client.get(
        reverse("sales:bulk_action", kwargs={"org_slug": org_a.slug, "action_id": action.pk})
    )
    assert b"10 of 27 orders checked: 10 ignored." in progress.content
    assert b'hx-trigger="every 2s"' in progress.content

    # The task itself (as a worker runs it) finishes the rest from the checkpoint.
    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})
    action.refresh_from_db()
    assert (action.status, action.done, action.changed) == ("succeeded", 27, 25)
    shop_rows = Order.all_orgs.filter(organization=org_a, source_store=shop)
    assert set(shop_rows.values_list("posting_status", flat=True)) == {"ignored", "posted"}
    assert not Order.all_orgs.filter(source_store=other, is_ignored=True).exists()
    assert statuses(org_b) == b_before
    assert (
        AuditEvent.objects.filter(
            organization=org_a, action="sales.order.ignored", actor=member_of_a.user
        ).count()
        == 25
    )
    # Running it again (a redelivered task) changes nothing.
    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})
    action.refresh_from_db()
    assert (action.done, action.changed) == (27, 25)


def test_all_filtered_with_an_unreadable_filter_does_nothing(member_client, org_a, org_b):
    bulk_orders(org_a, 3)
    foreign_store = make_store(make_connection(org_b))
    response = member_client.post(
        action_url(org_a), {"action": "ignore:filtered", "store": foreign_store.pk}
    )
    assert texts(response) == ["The filters could not be read; nothing was changed. Try again."]
    assert not OrderBulkAction.all_orgs.exists()
    assert not Order.all_orgs.filter(is_ignored=True).exists()


def test_reimport_of_another_organizations_orders_starts_nothing(member_client, org_a, org_b):
    theirs = make_order(org_b)
    response = member_client.post(action_url(org_a), {"action": "reimport", "ids": [theirs.pk]})
    assert texts(response) == ["Select at least one order first."]
    assert not OrderBulkAction.all_orgs.exists()


def test_posting_buttons_are_disabled_and_explained_without_a_ledger(member_client, org_a):
    order = make_order(org_a)
    page = member_client.get(f"/o/{org_a.slug}/sales/")
    assert b'value="post" class="btn btn-sm btn-outline-primary" data-needs-selection disabled' in (
        page.content
    )
    assert b"Posting is off: no ledger is connected yet." in page.content
    response = member_client.post(action_url(org_a), {"action": "post", "ids": [order.pk]})
    assert texts(response) == ["Connect a ledger on the Accounting tab first."]
    assert Order.all_orgs.get(pk=order.pk).posting_status == PostingStatus.NOT_POSTED


def test_bulk_progress_of_another_organization_is_404(member_client, org_a, org_b):
    theirs = OrderBulkAction.all_orgs.create(organization=org_b, kind="ignore")
    url = reverse("sales:bulk_action", kwargs={"org_slug": org_a.slug, "action_id": theirs.pk})
    assert member_client.get(url).status_code == 404


# --- re-import from ShipStation (the stand-in, over HTTP) ----------------------------------


@pytest.mark.shipstation_rate_limit(None)
def test_reimport_selected_orders_reads_them_again_from_shipstation(
    ss_app, member_client, org_a, django_capture_on_commit_callbacks
):
    from sales.services import sync_request, sync_run_execute
    from tests.sales.support import SS_KEY, SS_SECRET
    from tests.sales.support import make_connection as make_ss_connection

    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=7, orders=30, days=20)
    connection = make_ss_connection(org_a)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        while sync_run_execute(run_id=run.pk).continue_later:
            pass
    labels = list(account.shipments.records.values())
    target = next(
        o
        for o in account.orders.records.values()
        if any(s.order_id == o.order_id and not s.voided and not s.is_return_label for s in labels)
    )
    label = next(
        s
        for s in account.shipments.records.values()
        if s.order_id == target.order_id and not s.voided and not s.is_return_label
    )
    order = Order.all_orgs.get(organization=org_a, external_id=str(target.order_id))
    untouched = Order.all_orgs.filter(organization=org_a).exclude(pk=order.pk)
    untouched_before = dict(untouched.values_list("pk", "updated_at"))
    ss_app.edit_order(SS_KEY, target.order_id, amountPaid="0.42")
    ss_app.void_label(SS_KEY, label.shipment_id)
    ghost = make_order(
        org_a,
        connection=connection,
        number="GHOST-1",
        external_id="777000111",
        order_date=order.order_date - timedelta(days=1),
    )

    with django_capture_on_commit_callbacks(execute=False):
        member_client.post(action_url(org_a), {"action": "reimport", "ids": [order.pk, ghost.pk]})
    action = OrderBulkAction.all_orgs.get(organization=org_a)
    assert (action.kind, action.order_ids, action.status) == (
        "reimport",
        sorted([order.pk, ghost.pk]),
        "queued",
    )
    order_bulk_action_task.apply(kwargs={"organization_id": org_a.pk, "action_id": action.pk})

    action.refresh_from_db()
    assert (action.status, action.done, action.changed, action.failed) == (
        BulkActionStatus.SUCCEEDED,
        2,
        1,
        1,
    )
    assert action.error == f"Order {ghost.pk}: ShipStation no longer has this order."
    order.refresh_from_db()
    assert order.amount_paid == Decimal("0.42")
    expected_labels = sum(
        (
            s.shipment_cost + s.insurance_cost
            for s in account.shipments.records.values()
            if s.order_id == target.order_id and not s.voided and not s.is_return_label
        ),
        Decimal("0.00"),
    )
    assert order.label_cost_total == expected_labels
    assert dict(untouched.exclude(pk=ghost.pk).values_list("pk", "updated_at")) == {
        pk: at for pk, at in untouched_before.items()
    }
    assert AuditEvent.objects.filter(
        organization=org_a, action="sales.order.reimported", target=f"sales.order:{order.pk}"
    ).exists()


def test_post_says_how_many_orders_and_label_costs_were_queued(member_client, org_a):
    from accounting.models import Posting
    from tests.accounting.factories import make_order as make_ledger_order
    from tests.accounting.factories import mapped_settings
    from tests.factories import LedgerConnectionFactory, ShippingCostFactory

    ledger = LedgerConnectionFactory(organization=org_a)
    mapped_settings(ledger)
    store = make_connection(org_a)
    with_label = make_ledger_order(org_a, lines=[("A-1", "Mug", 1, "12.00", False)])
    ShippingCostFactory(organization=org_a, connection=store, order=with_label)
    without_label = make_ledger_order(org_a, lines=[("A-2", "Cup", 2, "4.50", False)])

    response = member_client.post(
        action_url(org_a), {"action": "post", "ids": [with_label.pk, without_label.pk]}
    )

    assert texts(response) == ["2 orders queued for posting. 1 label cost goes with them."]
    kinds = sorted(Posting.all_orgs.filter(organization=org_a).values_list("kind", flat=True))
    assert kinds == ["sale", "sale", "shipping_cost"]


def test_reimport_from_the_order_page_does_not_point_at_a_list(member_client, org_a):
    order = make_order(org_a, number="R-1", source_store=make_store(make_connection(org_a)))
    response = member_client.post(
        action_url(org_a), {"action": "reimport", "ids": order.pk, "order": order.pk}
    )
    assert response["Location"] == reverse(
        "sales:detail", kwargs={"org_slug": org_a.slug, "order_id": order.pk}
    )
    assert texts(response) == [
        "Re-import from ShipStation started. Reload this page in a moment to see what changed."
    ]
    response = member_client.post(action_url(org_a), {"action": "reimport", "ids": order.pk})
    assert texts(response) == [
        "Re-import from ShipStation started. The progress shows above the list."
    ]
