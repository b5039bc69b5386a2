"""The dashboard's "Needs your attention" counts: each links to the list that fixes it, and
each count equals the rows that list shows. With nothing to do the dashboard says "All
caught up" with the last sync and posting; a new organization sees its getting-started steps."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import LedgerStatus, Posting
from accounting.services import posting_enqueue_orders, posting_retry_failed
from accounting.services.engine import posting_drain
from connections.models import ConnectionMode, ConnectionStatus
from sales.models import ImportIssue, PostingStatus, ShippingCost, SyncRun
from tests.accounting.conftest import connect_ledger, qbo_settings  # noqa: F401
from tests.accounting.factories import make_order as acc_order
from tests.accounting.factories import make_posting
from tests.factories import LedgerConnectionFactory
from tests.pages import as_shown
from tests.sales.factories import make_connection, make_order
from tests.sales.listing import numbers_in
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

ITEM = re.compile(
    r'<a class="card[^"]*attention-item" href="([^"]+)" data-testid="attention-([^"]+)" '
    r'data-count="(\d+)"'
)


def attention(client, org) -> dict[str, tuple[str, int]]:
    page = client.get(f"/o/{org.slug}/")
    assert page.status_code == 200
    return {
        key: (html.unescape(url), int(count))
        for url, key, count in ITEM.findall(page.content.decode())
    }


def run_with_issues(org, connection, n: int) -> SyncRun:
    now = timezone.now()
    run = SyncRun.all_orgs.create(
        organization=org, connection=connection, kind="initial", status="succeeded",
        window_start=now - timedelta(days=30), window_end=now, started_at=now, finished_at=now,
        issues_count=n,
    )  # fmt: skip
    for i in range(n):
        ImportIssue.all_orgs.create(
            organization=org, connection=connection, run=run, kind="order",
            external_ref=f"REF-{i}", reason="Unreadable", fingerprint=f"fp-{run.pk}-{i}",
        )  # fmt: skip
    return run


@pytest.fixture
def member_client(client, member_of_a):
    client.force_login(member_of_a.user)
    return client


def test_every_count_equals_the_rows_of_the_list_it_links_to(member_client, org_a, org_b):
    main = make_connection(org_a, name="Main")
    keys = make_connection(org_a, name="Old keys")
    keys.status = ConnectionStatus.NEEDS_CREDENTIALS
    keys.save()
    expense = make_connection(org_a, name="Expense")
    expense.mode = ConnectionMode.SHIPPING_EXPENSE
    expense.save()
    for _ in range(3):
        make_order(org_a, connection=main, posting_status=PostingStatus.CHANGED)
    make_order(org_a, connection=main, posting_status=PostingStatus.POSTED)
    make_order(org_a, connection=main, posting_status=PostingStatus.NOT_POSTED)
    # An older run's issues are not the latest sync's; the latest run has 2.
    run_with_issues(org_a, main, 5)
    run_with_issues(org_a, main, 2)
    for i in range(4):
        ShippingCost.all_orgs.create(
            organization=org_a, connection=expense, external_id=f"un-{i}",
            order_external_id=f"ext-{i}", order_number=f"X{i}", cost=Decimal("4.10"),
            create_date=datetime(2026, 5, 1, tzinfo=UTC),
        )  # fmt: skip
    ShippingCost.all_orgs.create(
        organization=org_a, connection=expense, external_id="voided", order_external_id="v",
        cost=Decimal("4.10"), voided=True,
    )  # fmt: skip
    ledger = LedgerConnectionFactory(organization=org_a)
    for _ in range(2):
        make_posting(org_a, status="failed", connection=ledger)
    for reason in ("closed_books", "currency", "unpaid"):
        make_posting(org_a, status="failed", connection=ledger, hold_reason=reason)
    make_posting(org_a, status="posted", connection=ledger)
    # Another organization's problems never count here.
    other = make_connection(org_b, name="B")
    make_order(org_b, connection=other, posting_status=PostingStatus.CHANGED)
    make_posting(org_b, status="failed")

    items = attention(member_client, org_a)
    assert {key: count for key, (_url, count) in items.items()} == {
        "keys": 1,
        # Beyond the plan's one connection: "Old keys" (which needs keys too) and "Expense".
        "plan_paused": 2,
        "changed": 3,
        f"import_issues:{main.pk}": 2,
        f"unmatched:{expense.pk}": 4,
        "failed_postings": 2,
        "held_postings": 3,
    }

    def listed(key: str) -> str:
        return as_shown(member_client, items[key][0])

    assert listed("keys").count('status-badge">Needs new keys<') == 1
    assert listed("plan_paused").count('<div class="small text-warning-emphasis">') == 2
    assert len(numbers_in(listed("changed").encode())) == 3
    assert listed(f"import_issues:{main.pk}").count('<td class="mono">REF-') == 2
    unmatched = listed(f"unmatched:{expense.pk}")
    table = unmatched[unmatched.index('data-testid="unmatched-labels"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr") - 1 == 4  # minus the header row
    assert listed("failed_postings").count('<tr id="posting-') == 2
    held = listed("held_postings")
    assert held.count('<tr id="posting-') == held.count('data-testid="posting-held"') == 3

    ledger.status = LedgerStatus.NEEDS_REAUTH
    ledger.save()
    items = attention(member_client, org_a)
    assert items["ledger_reauth"] == (f"/o/{org_a.slug}/accounting/", 1)


def test_all_caught_up_says_when_it_last_synced_and_posted(member_client, org_a):
    connection = make_connection(org_a, name="Main")
    finished = datetime(2026, 5, 4, 12, 30, tzinfo=UTC)
    SyncRun.all_orgs.create(
        organization=org_a, connection=connection, kind="initial", status="succeeded",
        window_start=finished - timedelta(days=30), window_end=finished,
        started_at=finished - timedelta(minutes=2), finished_at=finished,
    )  # fmt: skip
    ledger = LedgerConnectionFactory(organization=org_a)
    posted = make_posting(org_a, status="posted", connection=ledger)
    posted.posted_at = datetime(2026, 5, 4, 12, 45, tzinfo=UTC)
    posted.save()
    org_a.timezone = "UTC"
    org_a.save()
    page = " ".join(member_client.get(f"/o/{org_a.slug}/").content.decode().split())
    assert 'data-testid="needs-attention"' not in page
    caught_up = page[page.index('data-testid="all-caught-up"') :]
    caught_up = caught_up[: caught_up.index("</section>")]
    assert "All caught up" in caught_up
    assert "Last sync:" in caught_up and "12:30" in caught_up
    assert "Last posting:" in caught_up and "12:45" in caught_up
    # Every step done: no getting-started list.
    assert 'data-testid="getting-started"' not in page


def test_getting_started_shows_the_three_steps_until_done(member_client, org_a):
    def steps() -> dict[str, str]:
        page = member_client.get(f"/o/{org_a.slug}/").content.decode()
        if 'data-testid="getting-started"' not in page:
            return {}
        return dict(re.findall(r'data-testid="step-(\w+)" data-done="(\w+)"', page))

    assert steps() == {"store": "false", "ledger": "false", "post": "false"}
    connection = make_connection(org_a, name="Main")
    assert steps() == {"store": "true", "ledger": "false", "post": "false"}
    ledger = LedgerConnectionFactory(organization=org_a)
    make_order(org_a, connection=connection)
    assert steps() == {"store": "true", "ledger": "true", "post": "false"}
    make_posting(org_a, status="posted", connection=ledger, posted_at=timezone.now())
    assert steps() == {}


@pytest.mark.usefixtures("qbo_settings")
def test_postings_held_by_the_ledger_or_the_order_count_apart_from_failed_ones(
    member_client, org_a, qbo
):
    """Real postings through the engine and the QBO stand-in: one in closed books, one of an
    unpaid order (sales-receipt mode) and one refused by a 500 after its last attempt."""
    ledger = connect_ledger(org_a, qbo)
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-05-31"})
    in_closed_books = acc_order(
        org_a, lines=[("A", "Alpha", 1, "20.00", False)],
        order_date=datetime(2026, 5, 20, 15, 0, tzinfo=UTC),
    )  # fmt: skip
    unpaid = acc_order(org_a, lines=[("B", "Beta", 1, "30.00", False)], paid="0")
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[in_closed_books.pk, unpaid.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        reasons = dict(Posting.objects.values_list("order_id", "hold_reason"))
    assert reasons == {in_closed_books.pk: "closed_books", unpaid.pk: "unpaid"}
    items = attention(member_client, org_a)
    assert "failed_postings" not in items
    url, count = items["held_postings"]
    assert url == f"/o/{org_a.slug}/accounting/postings/?status=failed&held=1"
    page = member_client.get(url).content.decode()
    assert count == page.count('<tr id="posting-') == 2
    assert "Held: Books closed for its date" in page and "Held: Order not paid" in page

    # A failure a retry may cure is not held, and a held posting that fails on its retry for
    # another reason is held no longer.
    qbo.set_preferences(AccountingInfoPrefs={"BookCloseDate": "2026-04-30"})
    qbo.inject_faults("server_error", probability=1.0, path_prefix="/v3/company")
    with org_scope(org_a.pk):
        posting = Posting.objects.get(order=in_closed_books)
        posting_retry_failed(organization=org_a, posting_ids=[posting.pk])
        Posting.objects.filter(pk=posting.pk).update(attempts=10)  # its last attempt
        posting_drain(ledger_connection_id=ledger.pk)
        posting.refresh_from_db()
    assert (posting.status, posting.hold_reason) == ("failed", "")
    items = attention(member_client, org_a)
    assert items["failed_postings"][1] == 1 and items["held_postings"][1] == 1
    failed_page = member_client.get(items["failed_postings"][0]).content.decode()
    assert failed_page.count('<tr id="posting-') == 1
    assert f'<tr id="posting-{posting.pk}"' in failed_page
