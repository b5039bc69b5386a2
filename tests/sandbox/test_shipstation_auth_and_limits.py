"""Authentication (401s) and the per-key-pair rate limit (headers, 429, fixed windows, the
budget shared with another app)."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from tests.sandbox.support import KEY, SECRET, get, parse, seed_account


@pytest.fixture
def account(shipstation):
    return seed_account(shipstation, orders=20)


def test_valid_pair_lists_stores(shipstation, account):
    assert get(shipstation, "/stores").status_code == 200


@pytest.mark.parametrize(
    "auth",
    [None, (KEY, "wrong-secret"), ("unknown-key", SECRET), (SECRET, KEY)],
    ids=["missing", "wrong-secret", "unknown-key", "swapped"],
)
def test_bad_credentials_get_401_with_a_non_json_body(shipstation, account, auth):
    response = get(shipstation, "/orders", auth=auth)
    assert response.status_code == 401
    assert not response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()
    assert "X-Rate-Limit-Limit" not in response.headers


def test_expired_pair_gets_401_and_can_be_restored(shipstation, account):
    shipstation.expire_account(KEY)
    assert get(shipstation, "/stores").status_code == 401
    shipstation.expire_account(KEY, expired=False)
    assert get(shipstation, "/stores").status_code == 200


def test_expire_through_control_api(shipstation, account):
    url = f"{shipstation.base_url}/__sandbox__/shipstation/accounts/{KEY}/expire"
    assert requests.post(url, json={}, timeout=5).json()["expired"] is True
    assert get(shipstation, "/stores").status_code == 401


def test_request_log_names_the_key_never_the_secret(shipstation, account):
    get(shipstation, "/orders", pageSize=1)
    get(shipstation, "/orders", auth=(KEY, "wrong"))
    records = shipstation.requests_log(KEY)
    assert [(r.path, r.status, r.query) for r in records] == [
        ("/orders", 200, "pageSize=1"),
        ("/orders", 401, ""),
    ]
    assert all(SECRET not in repr(r) and "wrong" not in repr(r) for r in records)


def test_every_authenticated_response_carries_the_three_headers(shipstation, account):
    first = get(shipstation, "/stores")
    second = get(shipstation, "/orders", pageSize=501)  # a 400 counts too
    assert first.headers["X-Rate-Limit-Limit"] == "40"
    assert first.headers["X-Rate-Limit-Remaining"] == "39"
    assert second.status_code == 400
    assert second.headers["X-Rate-Limit-Remaining"] == "38"
    assert 0 < int(first.headers["X-Rate-Limit-Reset"]) <= 60


@pytest.mark.shipstation_rate_limit(3, window_seconds=1.5)
def test_over_the_limit_gets_429_until_the_window_frees_a_slot(shipstation, account):
    statuses = [get(shipstation, "/stores").status_code for _ in range(3)]
    limited = get(shipstation, "/stores")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    reset = int(limited.headers["X-Rate-Limit-Reset"])
    assert 1 <= reset <= 2
    time.sleep(reset)
    assert get(shipstation, "/stores").status_code == 200
    log = shipstation.requests_log(KEY)
    assert [r.status for r in log] == [200, 200, 200, 429, 200]


@pytest.mark.shipstation_rate_limit(4, window_seconds=0.6)
def test_each_fixed_window_admits_the_limit_and_reset_counts_down_to_the_next(shipstation, account):
    # ShipStation counts fixed windows (it was a rolling one here before issue 16): at most
    # 4 per window, but a burst at the end of one window and the start of the next may put
    # 8 into 0.6 s.
    deadline = time.monotonic() + 1.5
    outcomes = []
    while time.monotonic() < deadline:
        outcomes.append(get(shipstation, "/stores").status_code)
    assert 429 in outcomes and outcomes.count(200) >= 8
    windows = shipstation.rate_windows(KEY)
    assert len(windows) >= 2
    assert all(w["ours"] <= 4 for w in windows)
    assert [w["ours"] for w in windows[:2]] == [4, 4]
    starts = [w["start"] for w in windows]
    assert all(
        round((b - a) / 0.6, 6) == int(round((b - a) / 0.6)) for a, b in itertools.pairwise(starts)
    )
    assert shipstation.request_log.max_in_window(KEY, 0.6, exclude_statuses=()) > 4


@pytest.mark.shipstation_rate_limit(40, window_seconds=60)
def test_reset_counts_down_within_a_window_while_remaining_drops_by_one(shipstation, account):
    first = get(shipstation, "/stores")
    time.sleep(1.1)
    second = get(shipstation, "/stores")
    assert (first.headers["X-Rate-Limit-Remaining"], second.headers["X-Rate-Limit-Remaining"]) == (
        "39",
        "38",
    )
    assert int(first.headers["X-Rate-Limit-Reset"]) == 60
    assert int(second.headers["X-Rate-Limit-Reset"]) == 59


@pytest.mark.shipstation_rate_limit(10, window_seconds=1.0)
def test_another_app_on_the_same_keys_spends_the_window_so_a_429_comes_early(shipstation, account):
    shipstation.set_other_app_usage(KEY, 6)
    statuses = []
    for _ in range(8):
        statuses.append(get(shipstation, "/stores").status_code)
        time.sleep(0.1)
    # Our own count says 10 per window; the other app spent some of them meanwhile.
    assert statuses.count(200) < 8 and 429 in statuses
    [window] = shipstation.rate_windows(KEY)[:1]
    assert window["ours"] + window["others"] <= 10 and window["others"] >= 3
    url = f"{shipstation.base_url}/__sandbox__/shipstation/accounts/{KEY}/other-app"
    body = requests.put(url, json={"requests_per_window": 0}, timeout=5).json()
    assert body["requests_per_window"] == 0 and body["windows"][0]["others"] >= 3


def test_limits_are_per_key_pair(shipstation, account):
    shipstation.add_account("other-key", "other-secret", orders=0)
    shipstation.set_rate_limit(2, window_seconds=30)
    assert [get(shipstation, "/stores").status_code for _ in range(3)] == [200, 200, 429]
    other = get(shipstation, "/stores", auth=("other-key", "other-secret"))
    assert other.status_code == 200
    assert other.headers["X-Rate-Limit-Remaining"] == "1"


def test_disabled_limit_never_answers_429(shipstation, account):
    shipstation.disable_rate_limit()
    assert {get(shipstation, "/stores").status_code for _ in range(60)} == {200}


def test_rate_limit_is_configurable_through_the_control_api(shipstation, account):
    url = f"{shipstation.base_url}/__sandbox__/rate-limit"
    body = requests.put(url, json={"limit": 1, "window_seconds": 30}, timeout=5).json()
    assert body == {"enabled": True, "limit": 1, "window_seconds": 30.0, "kind": "fixed"}
    assert [get(shipstation, "/stores").status_code for _ in range(2)] == [200, 429]
    assert requests.delete(url, timeout=5).json()["enabled"] is False
    assert get(shipstation, "/stores").status_code == 200
    assert parse(get(shipstation, "/orders", pageSize=1))["total"] == 20
