"""The customers, vendors and items a document needs in QuickBooks Desktop, and the names
tried for each (see ``names.candidates``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounting.ledgers.base import Document, ExpenseDocument, ItemRef, SaleDocument
from accounting.ledgers.qbd import names
from unify.core.stored_text import gettext as _

# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameNeed:
    key: str
    kind: str  # customer | vendor | item
    display: str
    email: str = ""
    account_id: str = ""  # items: the account a new item posts to
    create: bool = True


def _item_need(item: ItemRef | None, fallback_key: str, fallback_name: str, account: str):
    if item is None:
        return NameNeed(key=fallback_key, kind="item", display=fallback_name, account_id=account)
    if item.external_id and not item.match_key:
        return None  # a ledger id chosen in the settings (the default item)
    return NameNeed(
        key=item.match_key or f"item:name:{item.name.casefold()}",
        kind="item",
        display=item.name,
        account_id=item.income_account_id or account,
        create=item.create_if_missing,
    )


def discount_item(account_id: str) -> ItemRef:
    return ItemRef(
        name=_("Discounts"),
        create_if_missing=True,
        income_account_id=account_id,
        match_key="item:discount",
    )


def tax_item(doc: SaleDocument) -> ItemRef:
    return doc.tax_item or ItemRef(
        name=_("Sales tax collected"),
        create_if_missing=True,
        income_account_id=doc.tax_account_id,
        match_key="item:sales-tax",
    )


def needs_of(doc: Document) -> list[NameNeed]:
    needs: list[NameNeed | None] = []
    if isinstance(doc, SaleDocument):
        c = doc.customer
        needs.append(
            NameNeed(
                key=c.match_key or f"customer:name:{c.display_name.casefold()}",
                kind="customer",
                display=c.display_name,
                email=c.email,
            )
        )
        for line in doc.lines:
            needs.append(_item_need(line.item, "", line.item.name, ""))
        if doc.shipping is not None:
            needs.append(
                _item_need(
                    doc.shipping.item, "item:shipping", _("Shipping"), doc.shipping.account_id
                )
            )
        for d in doc.discounts:
            needs.append(_item_need(discount_item(d.account_id), "", "", d.account_id))
        if doc.tax:
            needs.append(_item_need(tax_item(doc), "", "", doc.tax_account_id))
        if doc.difference is not None:
            needs.append(
                _item_need(
                    doc.difference.item,
                    "item:reconciliation",
                    _("Reconciliation difference"),
                    doc.difference.account_id,
                )
            )
    elif isinstance(doc, ExpenseDocument):
        v = doc.vendor
        needs.append(
            NameNeed(
                key=v.match_key or f"vendor:{v.display_name.casefold()}",
                kind="vendor",
                display=v.display_name,
            )
        )
    unique: dict[str, NameNeed] = {}
    for need in needs:
        if need is not None:
            unique.setdefault(need.key, need)
    return list(unique.values())


def name_limit(kind: str) -> int:
    return names.ITEM_NAME if kind == "item" else names.CUSTOMER_NAME


def candidates_of(entry: dict[str, Any]) -> list[str]:
    return names.candidates(
        entry["display"], email=entry.get("email", ""), limit=name_limit(entry["kind"])
    )
