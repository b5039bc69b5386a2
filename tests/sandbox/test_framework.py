"""Generic stand-in machinery: lifecycle, control API, request log, limiter arithmetic."""

from __future__ import annotations

import requests

from sandbox.framework import RequestLog, RequestRecord, SlidingWindowRateLimiter
from sandbox.shipstation import DEMO_API_KEY, DEMO_API_SECRET, ShipStationSandbox, start_demo
from tests.sandbox.support import KEY, get, seed_account


def _record(t: float, status: int = 200) -> RequestRecord:
    return RequestRecord(t, t, "GET", "/orders", "", "k", status, None, 1.0)


def test_max_in_window_uses_half_open_rolling_windows():
    log = RequestLog()
    for t in (0.0, 0.5, 0.99, 1.0, 1.6, 2.1):
        log.append(_record(t))
    log.append(_record(0.7, status=429))
    # 1.0 is outside the window opened at 0.0, so no window holds four admitted requests.
    assert log.max_in_window("k", 1.0) == 3
    assert log.max_in_window("k", 1.0, exclude_statuses=()) == 4
    assert log.max_in_window("k", 1.01) == 4


def test_limiter_reset_is_the_wait_until_a_slot_frees():
    limiter = SlidingWindowRateLimiter(2, 10)
    assert limiter.check("k", 100.0).remaining == 1
    assert limiter.check("k", 103.0).remaining == 0
    refused = limiter.check("k", 104.0)
    assert (refused.allowed, refused.reset_seconds) == (False, 6)
    assert limiter.check("k", 110.0).allowed  # the first hit left the window


def test_stand_in_starts_on_an_ephemeral_port_and_stops():
    sandbox = ShipStationSandbox().start("127.0.0.1", 0)
    try:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert requests.get(sandbox.base_url + "/__sandbox__/", timeout=5).json()["name"] == (
            "shipstation"
        )
    finally:
        sandbox.stop()
    assert not sandbox.running


def test_demo_starts_with_the_documented_credentials():
    demo = start_demo("127.0.0.1", 0)
    try:
        response = requests.get(
            demo.base_url + "/orders", auth=(DEMO_API_KEY, DEMO_API_SECRET), timeout=5
        )
        assert response.status_code == 200
        # Changed (issue 16): 600 orders generated; one merged into another and seven split
        # off others as a real account has them (README, make run): 606 listed.
        assert response.json()["total"] == 606
        assert (
            len(
                requests.get(
                    demo.base_url + "/stores", auth=(DEMO_API_KEY, DEMO_API_SECRET), timeout=5
                ).json()
            )
            >= 5
        )
    finally:
        demo.stop()


def test_control_reset_forgets_accounts_logs_and_faults(shipstation):
    seed_account(shipstation, orders=3)
    shipstation.inject_faults("server_error", count=5)
    shipstation.set_rate_limit(1)
    get(shipstation, "/orders")
    assert requests.post(shipstation.base_url + "/__sandbox__/reset", timeout=5).json() == {
        "reset": True
    }
    assert shipstation.accounts == {}
    assert shipstation.requests_log() == []
    assert shipstation.faults.rules() == []
    assert shipstation.rate_limiter.to_json()["limit"] == 40
    assert get(shipstation, "/orders").status_code == 401


def test_request_log_over_http_filters_by_key(shipstation):
    seed_account(shipstation, orders=3)
    get(shipstation, "/orders", pageSize=2)
    get(shipstation, "/stores", auth=("someone-else", "x"))
    url = shipstation.base_url + "/__sandbox__/requests"
    mine = requests.get(url, params={"key": KEY}, timeout=5).json()["requests"]
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in mine] == [
        ("GET", "/orders", "pageSize=2", 200)
    ]
    assert len(requests.get(url, timeout=5).json()["requests"]) == 2
    requests.delete(url, timeout=5)
    assert shipstation.requests_log() == []


def test_control_calls_are_not_logged_or_rate_limited(shipstation):
    seed_account(shipstation, orders=1)
    shipstation.set_rate_limit(1)
    for _ in range(5):
        assert (
            requests.get(
                shipstation.base_url + f"/__sandbox__/shipstation/accounts/{KEY}/meta", timeout=5
            ).status_code
            == 200
        )
    assert shipstation.requests_log() == []


def test_unknown_control_endpoint_is_a_json_404(shipstation):
    response = requests.get(shipstation.base_url + "/__sandbox__/nope", timeout=5)
    assert response.status_code == 404
    assert "error" in response.json()
