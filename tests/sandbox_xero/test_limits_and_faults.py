"""Xero's limits, faults and the control API of the stand-in, over HTTP."""

from __future__ import annotations

import threading

import pytest
import requests
from xero_python.exceptions import HTTPStatusException, RateLimitException

from sandbox.xero import DEFAULT_TENANT_ID as T
from sandbox.xero import SECOND_TENANT_ID

from .conftest import accounting


def _headers(api) -> dict[str, str]:
    answer = api.get_organisations(T, _preload_content=False)
    return {k.lower(): v for k, v in answer.getheaders().items()}


def test_every_answer_carries_the_remaining_limits(api):
    first, second = _headers(api), _headers(api)
    assert (first["x-daylimit-remaining"], first["x-minlimit-remaining"]) == ("4999", "59")
    assert (second["x-daylimit-remaining"], second["x-minlimit-remaining"]) == ("4998", "58")
    assert int(first["x-appminlimit-remaining"]) - int(second["x-appminlimit-remaining"]) == 1


@pytest.mark.xero_limits(per_minute=3, minute_seconds=30)
def test_minute_limit_is_a_429_with_retry_after_and_the_problem(api, xero):
    for _ in range(3):
        api.get_organisations(T)
    with pytest.raises(RateLimitException) as limited:
        api.get_organisations(T)
    assert limited.value.rate_limit == "minute"
    headers = {k.lower(): v for k, v in limited.value.headers.items()}
    assert 1 <= int(headers["retry-after"]) <= 30
    assert xero.stats()["throttled"] == 1 and xero.stats()["max_requests_per_minute"] == 3


@pytest.mark.xero_limits(per_day=2, day_seconds=3600)
def test_day_limit_names_the_day(api):
    api.get_organisations(T)
    api.get_organisations(T)
    with pytest.raises(RateLimitException) as limited:
        api.get_organisations(T)
    assert limited.value.rate_limit == "day"
    assert int(dict(limited.value.headers)["Retry-After"]) > 3000


@pytest.mark.xero_limits(app_per_minute=2)
def test_app_minute_limit_counts_every_organisation(xero):
    tokens = xero.issue_tokens([T, SECOND_TENANT_ID])
    api = accounting(xero, tokens)
    api.get_organisations(T)
    api.get_organisations(SECOND_TENANT_ID)
    with pytest.raises(RateLimitException) as limited:
        api.get_organisations(T)
    assert limited.value.rate_limit == "appminute"


@pytest.mark.xero_limits(concurrent=2)
def test_more_than_the_concurrent_limit_at_once_is_refused(api, xero):
    xero.set_latency(0.3)
    problems: list[str] = []

    def call() -> None:
        try:
            api.get_organisations(T)
        except RateLimitException as exc:
            problems.append(exc.rate_limit)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == ["concurrent", "concurrent"]
    assert xero.stats()["max_concurrent"] == 2


def test_injected_faults_answer_like_xero(api, xero):
    xero.inject_faults("server_error", count=1)
    with pytest.raises(HTTPStatusException) as failed:
        api.get_organisations(T)
    assert failed.value.status == 500 and b"An error occurred in Xero" in failed.value.body
    xero.inject_faults("service_unavailable", count=1)
    with pytest.raises(HTTPStatusException) as offline:
        api.get_organisations(T)
    assert (offline.value.status, offline.value.body) == (503, b"The Organisation is offline")


def test_after_commit_fault_loses_the_answer_of_a_write_that_happened(api, xero):
    xero.inject_after_commit_faults("server_error", count=1)
    body = {"Contacts": [{"Name": "Jane"}]}
    with pytest.raises(HTTPStatusException):
        api.create_contacts(T, body, idempotency_key="lost-1")
    assert [c["Name"] for c in xero.documents("Contacts")] == ["Jane"]
    # The retry with the same key gets the first answer; nothing is made twice.
    again = api.create_contacts(T, body, idempotency_key="lost-1")
    assert again.contacts[0].contact_id == xero.documents("Contacts")[0]["ContactID"]
    assert xero.count("Contacts") == 1


def test_control_api_reads_back_what_was_posted(api, xero):
    api.create_contacts(T, {"Contacts": [{"Name": "Jane"}]})
    base = f"{xero.base_url}/__sandbox__/xero"
    listed = requests.get(f"{base}/organisations/{T}/contacts", timeout=5).json()
    assert (listed["count"], listed["Contacts"][0]["Name"]) == (1, "Jane")
    summary = requests.get(f"{base}/organisations", timeout=5).json()["organisations"]
    assert [o["name"] for o in summary] == ["Demo Company (US)", "Bolt Bikes Ltd"]
    assert summary[0]["counts"]["Accounts"] == 33 and summary[0]["counts"]["TaxRates"] == 6
    limits = requests.put(f"{base}/limits", json={"per_minute": 5}, timeout=5).json()
    assert (limits["per_minute"], limits["per_day"], limits["concurrent"]) == (5, 5000, 5)
    stats = requests.get(f"{base}/organisations/{T}/stats", timeout=5).json()
    assert stats["requests_admitted"] == 1
    made = requests.post(
        f"{base}/organisations/{T}/items", json={"Code": "SKU-9", "Name": "Nine"}, timeout=5
    )
    assert made.status_code == 201 and made.json()["Code"] == "SKU-9"


def test_seeded_chart_of_accounts_and_tax_rates(api):
    accounts = {a.code: a for a in api.get_accounts(T).accounts}
    assert (accounts["090"].type.value, accounts["615"].enable_payments_to_account) == (
        "BANK",
        True,
    )
    assert accounts["820"].name == "Sales Tax" and accounts["200"].type.value == "REVENUE"
    rates = {r.tax_type: r for r in api.get_tax_rates(T).tax_rates}
    assert str(rates["TAX001"].effective_rate) == "7.25"
    assert rates["NONE"].name == "Tax Exempt"
