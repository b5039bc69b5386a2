"""The batch endpoint as Intuit documents it: 30 items, serial, no visibility between items,
per-item faults, ``requestid`` replay of the whole batch, its own 40/min throttle beside the
500/min and 10/s limits, and throttling answered as 429 or 403."""

from __future__ import annotations

import pytest

from sandbox.qbo import ITEM_IDS


def _receipt(number: str, customer_id: str = "1") -> dict:
    return {
        "DocNumber": number,
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "Amount": 12,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": ITEM_IDS["Sales"]},
                    "Qty": 1,
                    "UnitPrice": 12,
                },
            }
        ],
    }


def _batch(api, items, **params):
    return api.post(api.url("batch"), params={"minorversion": 75, **params}, json={
        "BatchItemRequest": items
    })  # fmt: skip


def _by_bid(answer) -> dict:
    return {i["bId"]: i for i in answer.json()["BatchItemResponse"]}


def test_items_do_not_see_what_earlier_items_of_the_payload_created(qbo, api):
    next_customer = str(max(int(c["Id"]) for c in qbo.documents("Customer")) + 1)
    answer = _batch(
        api,
        [
            {"bId": "c", "operation": "create", "Customer": {"DisplayName": "New Buyer"}},
            {"bId": "s", "operation": "create", "SalesReceipt": _receipt("SS-1", next_customer)},
        ],
    )
    items = _by_bid(answer)
    assert items["c"]["Customer"]["Id"] == next_customer
    assert items["s"]["Fault"]["Error"][0]["code"] == "2500"
    assert qbo.count("SalesReceipt") == 0
    # The next payload sees it.
    again = _by_bid(_batch(api, [{"bId": "s", "operation": "create",
                                  "SalesReceipt": _receipt("SS-1", next_customer)}]))  # fmt: skip
    assert again["s"]["SalesReceipt"]["CustomerRef"]["value"] == next_customer


def test_items_run_serially_one_refused_fails_alone(qbo, api):
    items = [
        {"bId": str(i), "operation": "create", "SalesReceipt": _receipt(f"SS-{i}")}
        for i in range(5)
    ]
    items[3]["SalesReceipt"]["DocNumber"] = "SS-1"  # the number item 1 just took
    answer = _by_bid(_batch(api, items))
    assert [k for k, v in answer.items() if "Fault" in v] == ["3"]
    assert answer["3"]["Fault"]["Error"][0]["code"] == "6140"
    ids = [int(answer[str(i)]["SalesReceipt"]["Id"]) for i in (0, 1, 2, 4)]
    assert ids == sorted(ids)
    assert qbo.count("SalesReceipt") == 4


def test_same_requestid_replays_the_whole_batch_faults_included(qbo, api):
    items = [
        {"bId": "a", "operation": "create", "SalesReceipt": _receipt("SS-A")},
        {"bId": "b", "operation": "create", "SalesReceipt": {"Line": []}},
    ]
    first = _batch(api, items, requestid="unify-batch-7")
    second = _batch(api, items, requestid="unify-batch-7")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert _by_bid(first)["b"]["Fault"]["Error"][0]["code"] == "2020"
    assert qbo.count("SalesReceipt") == 1
    assert len(qbo.events("requestid_replayed")) == 1


def test_answer_lost_after_the_batch_ran_then_replayed(qbo, api):
    qbo.inject_after_commit_faults("bad_gateway", count=1, path_prefix="/v3/")
    items = [{"bId": str(i), "operation": "create", "SalesReceipt": _receipt(f"L-{i}")}
             for i in range(30)]  # fmt: skip
    lost = _batch(api, items, requestid="unify-batch-8")
    assert lost.status_code == 502
    assert qbo.count("SalesReceipt") == 30
    replay = _batch(api, items, requestid="unify-batch-8")
    assert len(replay.json()["BatchItemResponse"]) == 30
    assert qbo.count("SalesReceipt") == 30


def test_31_items_is_a_400_fault_for_the_whole_request(qbo, api):
    items = [{"bId": str(i), "operation": "create", "SalesReceipt": _receipt(f"B-{i}")}
             for i in range(31)]  # fmt: skip
    answer = _batch(api, items)
    assert answer.status_code == 400
    error = answer.json()["Fault"]["Error"][0]
    assert (error["code"], answer.json()["Fault"]["type"]) == ("1040", "ValidationFault")
    assert qbo.count("SalesReceipt") == 0


@pytest.mark.qbo_limits(batch_per_minute=2, per_minute=5)
def test_batch_requests_have_their_own_throttle_and_count_in_the_minute(qbo, api):
    one = [{"bId": "q", "Query": "select * from Customer"}]
    assert [_batch(api, one).status_code for _ in range(2)] == [200, 200]
    throttled = _batch(api, one)
    assert throttled.status_code == 429
    assert "ThrottleExceeded" in throttled.text
    # Single requests still go: the minute holds 5 (three batch requests, the throttled one
    # included, and two singles).
    query = {"query": "select * from Item", "minorversion": 75}
    assert [api.get(api.url("query"), params=query).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert [e["realm_id"] for e in qbo.events("batch_throttled")] == [qbo.realm_id]


@pytest.mark.qbo_limits(per_second=3, second_window_seconds=30)
def test_per_second_limit_per_realm(qbo, api):
    query = {"query": "select * from Item", "minorversion": 75}
    statuses = [api.get(api.url("query"), params=query).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(qbo.events("second_throttled")) == 1


@pytest.mark.parametrize("status", [429, 403])
def test_injected_throttling_writes_nothing(qbo, api, status):
    qbo.inject_throttles(status, count=1)
    items = [{"bId": "a", "operation": "create", "SalesReceipt": _receipt("T-1")}]
    answer = _batch(api, items, requestid="unify-batch-9")
    assert answer.status_code == status
    assert "message=ThrottleExceeded" in answer.text
    assert qbo.count("SalesReceipt") == 0
    assert _batch(api, items, requestid="unify-batch-9").status_code == 200
    assert qbo.count("SalesReceipt") == 1
