"""Issue 17, item 9: a QuickBooks item is found by its ``Sku`` first, then by name; SKUs that
differ only by punctuation (``A:B`` vs ``A-B``) never merge into one item; names fitted to
QuickBooks' rules get a deterministic suffix. QBO stand-in over HTTP, PostgreSQL."""

from __future__ import annotations

import pytest

from accounting.models import Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from tests.accounting.factories import make_order

pytestmark = pytest.mark.django_db


def _post(org, ledger, *skus) -> dict[str, str]:
    """Post one order per SKU; the item id each line went to, by SKU."""
    items = {}
    for sku in skus:
        order = make_order(org, lines=[(sku, f"Product {sku}", 1, "10.00", False)])
        posting_enqueue_orders(organization=org, order_ids=[order.pk])
        posting_drain(ledger_connection_id=ledger.pk)
        posting = Posting.objects.get(order=order)
        assert posting.status == "posted", posting.error
        items[sku] = posting.document["lines"][0]["item"]["sku"], posting.external_id
    return items


def _line_items(qbo) -> dict[str, str]:
    out = {}
    for receipt in qbo.documents("salesreceipt"):
        for line in receipt["Line"]:
            detail = line.get("SalesItemLineDetail")
            if detail and line.get("Description", "").startswith("Product "):
                out[line["Description"].removeprefix("Product ")] = detail["ItemRef"]["value"]
    return out


def test_a_merchants_item_is_found_by_its_sku_whatever_its_name(org_a, qbo, qbo_ledger, scope_a):
    mine = qbo.company().save(
        "Item",
        {"Name": "Coffee mug, blue", "Sku": "MUG-1", "Type": "NonInventory",
         "IncomeAccountRef": {"value": "79"}},
    )  # fmt: skip
    items_before = qbo.count("Item")
    _post(org_a, qbo_ledger, "MUG-1")
    assert _line_items(qbo) == {"MUG-1": mine["Id"]}
    assert qbo.count("Item") == items_before


@pytest.mark.parametrize(
    "order", [("A:B", "A-B"), ("A-B", "A:B")], ids=["colon-first", "dash-first"]
)
def test_skus_differing_only_by_punctuation_are_two_items(org_a, qbo, qbo_ledger, scope_a, order):
    _post(org_a, qbo_ledger, *order, *order)
    used = _line_items(qbo)
    assert used["A:B"] != used["A-B"]
    items = {i["Id"]: i for i in qbo.documents("item")}
    assert items[used["A:B"]]["Sku"] == "A:B" and items[used["A-B"]]["Sku"] == "A-B"
    assert items[used["A-B"]]["Name"] == "A-B"
    assert items[used["A:B"]]["Name"].startswith("A-B ~")  # deterministic, from the SKU


def test_a_name_taken_by_another_skus_item_gets_the_suffixed_name(org_a, qbo, qbo_ledger, scope_a):
    other = qbo.company().save(
        "Item",
        {"Name": "PEN-1", "Sku": "PEN-ONE", "Type": "NonInventory",
         "IncomeAccountRef": {"value": "79"}},
    )  # fmt: skip
    _post(org_a, qbo_ledger, "PEN-1")
    used = _line_items(qbo)
    assert used["PEN-1"] != other["Id"]
    item = qbo.document("item", used["PEN-1"])
    assert item["Sku"] == "PEN-1" and item["Name"].startswith("PEN-1 ~")
