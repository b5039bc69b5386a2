"""ShipStation's rate limit as it counts it: a fixed window whose 40 requests every app using
the key pair shares. Another app spending 30 of them: the import finishes, trusts the 429s
(waits for the reset, shrinks its own budget) and stops meeting them."""

from __future__ import annotations

import pytest

from sales.models import SyncStatus
from tests.sales.support import (
    SS_KEY,
    SS_SECRET,
    expected_costs,
    expected_orders,
    imported_costs,
    imported_orders,
    make_connection,
    normalized,
    run_sync,
)

pytestmark = [pytest.mark.django_db]

LIMIT, WINDOW = 40, 2.0


@pytest.fixture
def shared_limit(ss_app, settings):
    ss_app.set_rate_limit(LIMIT, WINDOW)
    settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE = LIMIT
    settings.SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS = WINDOW
    settings.SHIPSTATION_RATE_LIMIT_MARGIN_SECONDS = 0.05
    settings.SHIPSTATION_RATE_LIMIT_SHRINK_SECONDS = 60
    settings.SALES_SYNC_PAGE_SIZE = 10
    return ss_app


def test_another_app_using_30_of_40_the_import_finishes_and_stops_meeting_429s(shared_limit, org_a):
    account = shared_limit.add_account(SS_KEY, SS_SECRET, seed=41, orders=700, days=30)
    shared_limit.set_other_app_usage(SS_KEY, 30)

    run = run_sync(org_a, make_connection(org_a))

    assert run.status == SyncStatus.SUCCEEDED, run.error_detail
    assert imported_orders(org_a) == normalized(expected_orders(account))
    assert imported_costs(org_a) == expected_costs(account)
    windows = shared_limit.rate_windows(SS_KEY)
    log = shared_limit.requests_log(SS_KEY)
    rejected = [r for r in log if r.status == 429]
    assert len(log) - len(rejected) >= 140
    # ShipStation never let more than the limit through in a window, ours and theirs, and
    # a 429 is believed: nothing more is sent into that window, so at most one per window.
    assert all(w["ours"] + w["others"] <= LIMIT for w in windows)
    assert all(w["rejected"] <= 1 for w in windows)
    # The budget shrinks to what fits beside the other app: 429s stay the exception ...
    assert len(rejected) <= (len(windows) + 1) // 2
    later = [w["ours"] for w in windows[len(windows) // 2 : -1]]
    assert later and max(later) < windows[0]["ours"]
    # ... without starving the import: it took a few windows, not one per request.
    assert len(windows) <= len(log) // 8
