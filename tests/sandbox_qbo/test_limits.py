"""Throttling per realm: 500 requests a minute and 10 in flight, answered with Intuit's XML 429."""

from __future__ import annotations

import threading

import pytest
import requests
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects import CompanyInfo, Customer

from .conftest import auth_client


def _company_info(api):
    return api.get(api.url(f"companyinfo/{api.realm}"), params={"minorversion": 75})


@pytest.fixture
def realm_api(api, qbo):
    api.realm = qbo.realm_id
    return api


def _assert_throttle_body(answer) -> None:
    assert answer.status_code == 429
    assert answer.headers["Content-Type"].startswith("application/xml")
    text = answer.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert '<Fault type="SERVICE">' in text
    assert '<Error code="3001">' in text
    assert "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>" in text


def test_the_501st_request_in_a_minute_gets_the_xml_429(qbo, realm_api):
    statuses = [_company_info(realm_api).status_code for _ in range(500)]
    assert statuses == [200] * 500
    answer = _company_info(realm_api)
    _assert_throttle_body(answer)
    stats = qbo.stats()
    assert (stats["max_requests_per_minute"], stats["throttled"]) == (500, 1)


@pytest.mark.qbo_limits(per_minute=3)
def test_python_quickbooks_cannot_parse_the_429_and_nothing_is_written(qbo, qb):
    for _ in range(3):
        CompanyInfo.get(qbo.realm_id, qb=qb)
    customer = Customer()
    customer.DisplayName = "Too Fast"
    with pytest.raises(QuickbooksException) as excinfo:
        customer.save(qb=qb)
    assert excinfo.value.error_code == 10000
    assert excinfo.value.message.startswith("Error reading json response: <?xml")
    assert "ThrottleExceeded" in excinfo.value.message
    assert qbo.count("Customer") == 3
    assert qbo.max_requests_in_window(qbo.realm_id, 60) == 3


@pytest.mark.qbo_limits(per_minute=2)
def test_limits_are_per_realm_and_oauth_is_not_counted(qbo, realm_api):
    other = qbo.create_company("Other Books")
    other_tokens = qbo.issue_tokens(other)
    assert [_company_info(realm_api).status_code for _ in range(3)] == [200, 200, 429]
    other_answer = requests.get(
        f"{qbo.api_base_url}/company/{other}/companyinfo/{other}",
        headers={"Authorization": f"Bearer {other_tokens['access_token']}"},
        timeout=5,
    )
    assert other_answer.status_code == 200
    auth = auth_client(qbo, refresh_token=other_tokens["refresh_token"])
    for _ in range(4):
        auth.refresh()
    assert qbo.stats(other)["requests_admitted"] == 1


def test_more_than_ten_in_flight_per_realm_get_429(qbo, realm_api):
    qbo.set_latency(1.5)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        with requests.Session() as session:
            session.headers.update(realm_api.headers)
            status = _company_info_with(session, qbo).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [429] * 2
    assert qbo.stats()["max_concurrent"] == 10
    assert len(qbo.events("concurrency_throttled")) == 2


@pytest.mark.qbo_limits(concurrent=None)
def test_concurrency_limit_can_be_disabled(qbo, realm_api):
    qbo.set_latency(0.5)
    statuses: list[int] = []

    def call() -> None:
        with requests.Session() as session:
            session.headers.update(realm_api.headers)
            statuses.append(_company_info_with(session, qbo).status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 12


def _company_info_with(session, qbo):
    return session.get(
        f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}", timeout=10
    )


@pytest.mark.qbo_limits(batch_per_minute=2)
def test_batch_requests_have_their_own_minute_budget(qbo, api):
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from TaxCode"}]}
    statuses = [api.post(api.url("batch"), json=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.qbo_limits(per_minute=2)
def test_disable_limits_lifts_all_of_them(qbo, realm_api):
    qbo.disable_limits()
    assert [_company_info(realm_api).status_code for _ in range(5)] == [200] * 5
    assert qbo.limits()["per_minute"] is None
