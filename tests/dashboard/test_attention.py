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

from accounting.models import LedgerStatus
from connections.models import ConnectionMode, ConnectionStatus
from sales.models import ImportIssue, PostingStatus, ShippingCost, SyncRun
from tests.accounting.factories import LedgerConnectionFactory, make_posting
from tests.pages import as_shown
from tests.sales_tab.conftest import numbers_in
from tests.sales_tab.factories import make_connection, make_order

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

    assert steps() == {"shipstation": "false", "ledger": "false", "post": "false"}
    connection = make_connection(org_a, name="Main")
    assert steps() == {"shipstation": "true", "ledger": "false", "post": "false"}
    ledger = LedgerConnectionFactory(organization=org_a)
    make_order(org_a, connection=connection)
    assert steps() == {"shipstation": "true", "ledger": "true", "post": "false"}
    make_posting(org_a, status="posted", connection=ledger, posted_at=timezone.now())
    assert steps() == {}
