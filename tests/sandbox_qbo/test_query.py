"""The query language, through python-quickbooks and raw requests."""

from __future__ import annotations

import pytest
from quickbooks.exceptions import ValidationException
from quickbooks.objects import Account, Customer, Item

from sandbox.qbo.query import parse_query


def _query(api, text: str, method: str = "POST"):
    if method == "GET":
        return api.get(api.url("query"), params={"query": text, "minorversion": 75})
    return api.post(
        api.url("query"),
        data=text.encode(),
        params={"minorversion": 75},
        headers={"Content-Type": "application/text"},
    )


def test_escaped_quotes_as_python_quickbooks_writes_them(qbo, qb):
    found = Customer.filter(DisplayName="Amy's Bird Sanctuary", qb=qb)
    assert [c.Id for c in found] == ["1"]


def test_doubled_quotes_and_case_insensitive_match(qbo, api):
    answer = _query(api, "SELECT * FROM customer WHERE DisplayName = 'amy''s bird sanctuary'")
    assert [c["Id"] for c in answer.json()["QueryResponse"]["Customer"]] == ["1"]


def test_in_like_and_get(qbo, qb, api):
    assert sorted(c.Id for c in Customer.choose(["1", "3"], qb=qb)) == ["1", "3"]
    answer = _query(api, "select * from Customer where DisplayName like 'Bill%'", "GET")
    assert [c["DisplayName"] for c in answer.json()["QueryResponse"]["Customer"]] == [
        "Bill's Windsurf Shop"
    ]


def test_paging_and_ordering(qbo, qb):
    names = [a.Name for a in Account.where("", order_by="Name DESC", max_results=1000, qb=qb)]
    assert names == sorted(names, key=str.lower, reverse=True)
    page1 = Account.where("", order_by="Name", start_position=1, max_results=5, qb=qb)
    page2 = Account.where("", order_by="Name", start_position=6, max_results=5, qb=qb)
    everything = [a.Name for a in Account.where("", order_by="Name", max_results=1000, qb=qb)]
    assert [a.Name for a in page1 + page2] == everything[:10]


def test_response_envelope(qbo, api):
    body = _query(api, "select * from Item startposition 2 maxresults 2").json()
    response = body["QueryResponse"]
    assert (response["startPosition"], response["maxResults"]) == (2, 2)
    assert [i["Id"] for i in response["Item"]] == ["2", "3"]
    assert "time" in body
    empty = _query(api, "select * from Customer where DisplayName = 'Nobody'").json()
    assert empty["QueryResponse"] == {}


def test_count_and_selected_fields(qbo, qb, api):
    assert Item.count(qb=qb) == 4
    answer = _query(api, "select Id, Name from Item where Name = 'Shipping'").json()
    (row,) = answer["QueryResponse"]["Item"]
    assert row == {"Id": "3", "Name": "Shipping", "domain": "QBO", "sparse": True}


def test_reference_and_metadata_filters(qbo, api):
    created = api.post(
        api.url("salesreceipt"),
        json={
            "CustomerRef": {"value": "2"},
            "Line": [{"Amount": "5.00", "DetailType": "SalesItemLineDetail"}],
        },
    ).json()["SalesReceipt"]
    by_customer = _query(api, "select * from SalesReceipt where CustomerRef = '2'").json()
    assert [r["Id"] for r in by_customer["QueryResponse"]["SalesReceipt"]] == [created["Id"]]
    since = _query(
        api,
        "select * from SalesReceipt where MetaData.LastUpdatedTime >= '2025-01-01T00:00:00-08:00'",
    ).json()
    assert len(since["QueryResponse"]["SalesReceipt"]) == 1
    amount = _query(api, "select * from SalesReceipt where TotalAmt > '4.99'").json()
    assert len(amount["QueryResponse"]["SalesReceipt"]) == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("select * from Customer where DisplayName = 'a' or DisplayName = 'b'", "4000"),
        ("select * from Customer where", "4000"),
        ("select * form Customer", "4000"),
        ("select * from Customer where Nonsense = 'x'", "4001"),
        ("select * from Widget", "4001"),
    ],
)
def test_unsupported_queries_fault(qbo, api, text, code):
    answer = _query(api, text)
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == code


def test_python_quickbooks_raises_validation_exception_for_a_bad_query(qbo, qb):
    with pytest.raises(ValidationException) as excinfo:
        Customer.where("Nonsense = 'x'", qb=qb)
    assert excinfo.value.error_code == 4001


def test_parser_handles_star_plus_columns_and_limits():
    query = parse_query("SELECT *, Sku FROM Item ORDER BY Name ASC STARTPOSITION 3 MAXRESULTS 5000")
    assert (query.entity, query.fields, query.order_by) == ("Item", None, [("Name", False)])
    assert (query.start_position, query.max_results) == (3, 1000)


def test_query_rows_carry_the_customers_email(qbo, api):
    created = api.post(
        api.url("customer"),
        json={"DisplayName": "Jane Doe", "PrimaryEmailAddr": {"Address": "jane@a.com"}},
        params={"minorversion": 75},
    ).json()["Customer"]
    rows = _query(api, "select * from Customer where DisplayName = 'jane doe'").json()
    (row,) = rows["QueryResponse"]["Customer"]
    assert (row["Id"], row["PrimaryEmailAddr"]) == (created["Id"], {"Address": "jane@a.com"})
    seeded = _query(api, "select * from Customer where DisplayName = 'Walk-in Customer'").json()
    assert "PrimaryEmailAddr" not in seeded["QueryResponse"]["Customer"][0]
