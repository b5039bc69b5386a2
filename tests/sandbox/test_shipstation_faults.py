"""Injected faults: error bodies, gateway pages, slowness, broken and null-riddled JSON."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.sandbox.support import KEY, all_pages, get, parse, seed_account


@pytest.fixture
def account(shipstation):
    shipstation.disable_rate_limit()
    return seed_account(shipstation, orders=40)


def test_server_error_has_the_dotnet_body(shipstation, account):
    shipstation.inject_faults("server_error", count=1)
    response = get(shipstation, "/orders")
    assert response.status_code == 500
    body = response.json()
    assert list(body) == ["Message", "ExceptionMessage", "ExceptionType", "StackTrace"]
    assert body["Message"] == "An error has occurred."
    assert body["ExceptionType"] == "System.Exception"
    assert body["StackTrace"] is None
    assert "X-Rate-Limit-Remaining" in response.headers
    assert get(shipstation, "/orders").status_code == 200  # only the next one


@pytest.mark.parametrize(("kind", "status"), [("bad_gateway", 502), ("503", 503)])
def test_gateway_faults_answer_html_pages(shipstation, account, kind, status):
    shipstation.inject_faults(kind, count=2)
    responses = [get(shipstation, "/orders") for _ in range(3)]
    assert [r.status_code for r in responses] == [status, status, 200]
    assert responses[0].headers["Content-Type"].startswith("text/html")
    assert f"<title>{status}" in responses[0].text
    with pytest.raises(ValueError):
        responses[0].json()


def test_faults_can_be_limited_to_a_path_prefix(shipstation, account):
    shipstation.inject_faults("server_error", count=1, path_prefix="/shipments")
    assert get(shipstation, "/orders").status_code == 200
    assert get(shipstation, "/shipments").status_code == 500
    assert get(shipstation, "/shipments").status_code == 200


def test_null_entries_are_inserted_without_losing_records(shipstation, account):
    clean = all_pages(shipstation, "/orders", "orders", pageSize=500)
    shipstation.inject_faults("null_entries", count=1)
    body = get(shipstation, "/orders", pageSize=500).json()
    assert body["orders"][0] is None
    assert body["total"] == 40
    real = [o for o in body["orders"] if o is not None]
    assert [o["orderId"] for o in real] == [o["orderId"] for o in clean]


def test_null_entries_in_bare_arrays(shipstation, account):
    shipstation.inject_faults("null_entries", count=1, path_prefix="/stores")
    stores = get(shipstation, "/stores").json()
    assert None in stores
    assert len([s for s in stores if s is not None]) == 5


def test_truncated_and_malformed_json_are_200s_that_do_not_parse(shipstation, account):
    shipstation.inject_faults("truncated_json", count=1)
    shipstation.inject_faults("malformed_json", count=1)
    for _ in range(2):
        response = get(shipstation, "/orders", pageSize=5)
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert parse(get(shipstation, "/orders", pageSize=5))["total"] == 40


def test_slow_fault_trips_a_client_read_timeout(shipstation, account):
    shipstation.inject_faults("slow", count=1, delay_seconds=0.8)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(shipstation, "/orders", timeout=0.3)
    assert get(shipstation, "/orders", timeout=5).status_code == 200


def test_probability_faults_are_seeded_and_repeatable(shipstation, account):
    def run() -> list[int]:
        shipstation.clear_faults()
        shipstation.inject_faults("server_error", probability=0.3, seed=11)
        return [get(shipstation, "/stores").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 3 <= first.count(500) <= 18


def test_faulted_requests_are_logged_with_their_kind(shipstation, account):
    shipstation.inject_faults("server_error", count=1)
    shipstation.inject_faults("null_entries", count=1)
    get(shipstation, "/orders")
    get(shipstation, "/orders")
    get(shipstation, "/orders")
    assert [(r.status, r.fault) for r in shipstation.requests_log(KEY)] == [
        (500, "server_error"),
        (200, "null_entries"),
        (200, None),
    ]


def test_faults_through_the_control_api(shipstation, account):
    url = f"{shipstation.base_url}/__sandbox__/faults"
    rule = requests.post(url, json={"kind": "502", "count": 1}, timeout=5).json()
    assert rule["kind"] == "bad_gateway" and rule["count"] == 1
    assert requests.get(url, timeout=5).json()["faults"][0]["id"] == rule["id"]
    assert get(shipstation, "/orders").status_code == 502
    requests.post(url, json={"kind": "server_error", "probability": 1}, timeout=5)
    assert get(shipstation, "/orders").status_code == 500
    assert requests.delete(url, timeout=5).json() == {"faults": []}
    assert get(shipstation, "/orders").status_code == 200
    bad = requests.post(url, json={"kind": "gremlins"}, timeout=5)
    assert bad.status_code == 400


def test_unknown_path_is_a_json_404(shipstation, account):
    response = get(shipstation, "/carriers/nope")
    assert response.status_code == 404
    assert "No HTTP resource was found" in response.json()["Message"]


def test_request_in_flight_during_a_reset_does_not_leak_into_the_next_log(shipstation, account):
    shipstation.inject_faults("slow", count=1, delay_seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(shipstation, "/orders", timeout=0.2)
    shipstation.reset()
    seed_account(shipstation, orders=1)
    time.sleep(0.8)  # the slow request finishes now, against the new state
    assert shipstation.requests_log() == []
    assert shipstation.events("handler_crash") == []
