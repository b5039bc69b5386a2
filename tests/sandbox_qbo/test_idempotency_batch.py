"""``requestid`` replay and the batch endpoint."""

from __future__ import annotations

import pytest
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects import Customer, SalesReceipt

from sandbox.qbo import ITEM_IDS

from .test_entities import ref, sales_line


def _receipt(doc_number: str) -> SalesReceipt:
    receipt = SalesReceipt()
    receipt.CustomerRef = ref("1")
    receipt.DocNumber = doc_number
    receipt.Line = [sales_line(ITEM_IDS["Sales"], 1, "12.00", "12.00")]
    return receipt


def test_same_requestid_replays_the_first_answer_and_writes_once(qbo, qb, api):
    first = _receipt("SS-3001").save(qb=qb, request_id="posting-17-attempt")
    second = _receipt("SS-3001").save(qb=qb, request_id="posting-17-attempt")
    assert second.Id == first.Id
    assert second.MetaData == first.MetaData
    assert qbo.count("SalesReceipt") == 1
    raw = [
        api.post(
            api.url("salesreceipt"),
            params={"requestid": "raw-1", "minorversion": 75},
            json={"Line": [{"Amount": 3, "DetailType": "SalesItemLineDetail"}]},
        )
        for _ in range(2)
    ]
    assert raw[0].content == raw[1].content
    assert qbo.count("SalesReceipt") == 2
    assert len(qbo.events("requestid_replayed")) == 2


def test_requestids_are_per_realm_and_a_new_one_writes_again(qbo, qb):
    _receipt("SS-1").save(qb=qb, request_id="k-1")
    qbo.set_duplicate_doc_number_check(False)
    _receipt("SS-1").save(qb=qb, request_id="k-2")
    assert qbo.count("SalesReceipt") == 2
    assert set(qbo.company().replays) == {"k-1", "k-2"}
    other = qbo.create_company("Other")
    assert qbo.company(other).replays == {}


def test_a_refused_write_is_not_remembered(qbo, qb):
    bad = _receipt("Z" * 22)
    with pytest.raises(QuickbooksException):
        bad.save(qb=qb, request_id="fix-and-retry")
    saved = _receipt("SS-4").save(qb=qb, request_id="fix-and-retry")
    assert saved.DocNumber == "SS-4"
    assert qbo.count("SalesReceipt") == 1


def test_requestid_reused_for_another_endpoint_is_refused(qbo, qb):
    _receipt("SS-5").save(qb=qb, request_id="shared")
    customer = Customer()
    customer.DisplayName = "Reuse"
    with pytest.raises(QuickbooksException) as excinfo:
        customer.save(qb=qb, request_id="shared")
    assert excinfo.value.error_code == 600
    assert qbo.count("Customer") == 3


def test_requestid_longer_than_50_is_refused(qbo, qb):
    with pytest.raises(QuickbooksException) as excinfo:
        _receipt("SS-6").save(qb=qb, request_id="r" * 51)
    assert excinfo.value.error_code == 2050
    assert qbo.count("SalesReceipt") == 0


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway", "truncated_json"])
def test_answer_lost_after_commit_then_retry_with_same_requestid_gets_the_document(qbo, qb, kind):
    qbo.inject_after_commit_faults(kind, count=1)
    with pytest.raises(QuickbooksException):
        _receipt("SS-7").save(qb=qb, request_id="lost-answer")
    # The document exists although the client never saw it...
    assert qbo.count("SalesReceipt") == 1
    # ...and the retry with the same key gets it instead of a second one.
    again = _receipt("SS-7").save(qb=qb, request_id="lost-answer")
    assert again.Id == qbo.documents("SalesReceipt")[0]["Id"]
    assert qbo.count("SalesReceipt") == 1
    assert [e["fault"] for e in qbo.events("after_commit_fault")] == [kind]


def test_injected_fault_before_the_write_writes_nothing(qbo, qb):
    qbo.inject_faults("server_error", count=1, path_prefix="/v3/")
    with pytest.raises(QuickbooksException) as excinfo:
        _receipt("SS-8").save(qb=qb, request_id="pre")
    assert excinfo.value.error_code == 10000
    assert qbo.count("SalesReceipt") == 0
    assert _receipt("SS-8").save(qb=qb, request_id="pre").DocNumber == "SS-8"


def test_batch_with_per_item_faults(qbo, qb):
    names = ["Batch One", "Batch Two", "Amy's Bird Sanctuary", "Batch Four"]
    customers = []
    for name in names:
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)
    result = batch_create(customers, qb=qb)
    assert sorted(c.DisplayName for c in result.successes) == [
        "Batch Four",
        "Batch One",
        "Batch Two",
    ]
    (fault,) = result.faults
    assert fault.Error[0].code == "6240"
    assert fault.original_object.DisplayName == "Amy's Bird Sanctuary"
    assert qbo.count("Customer") == 6


def test_batch_queries_and_mixed_operations(qbo, api):
    body = {
        "BatchItemRequest": [
            {
                "bId": "q1",
                "Query": "select * from Customer where DisplayName = 'Amy\\'s Bird Sanctuary'",
            },
            {"bId": "c1", "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
            {"bId": "bad", "operation": "create", "SalesReceipt": {"Line": []}},
            {"bId": "q2", "Query": "select * from Nothing"},
        ]
    }
    answer = api.post(api.url("batch"), json=body)
    items = {i["bId"]: i for i in answer.json()["BatchItemResponse"]}
    assert [c["Id"] for c in items["q1"]["QueryResponse"]["Customer"]] == ["1"]
    assert items["c1"]["Vendor"]["DisplayName"] == "Batch Vendor"
    assert items["bad"]["Fault"]["Error"][0]["code"] == "2020"
    assert items["q2"]["Fault"]["Error"][0]["code"] == "4001"


def test_batch_of_more_than_30_items_is_refused_whole(qbo, api):
    items = [
        {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"B{i}"}}
        for i in range(31)
    ]
    answer = api.post(api.url("batch"), json={"BatchItemRequest": items})
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "1040"
    assert qbo.count("Customer") == 3
    ok = api.post(api.url("batch"), json={"BatchItemRequest": items[:30]})
    assert len(ok.json()["BatchItemResponse"]) == 30
    assert qbo.count("Customer") == 33
