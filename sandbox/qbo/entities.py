"""The entities the QBO stand-in knows, which members it owns, and the value helpers its
business rules share (money rounding, python-quickbooks' empty values, references)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DOC_NUMBER_MAX = 21
SHIPPING_ITEM_ID = "SHIPPING_ITEM_ID"

NAME_LISTS = ("Account", "Customer", "Vendor", "Item", "PaymentMethod", "TaxCode")
TRANSACTIONS = (
    "SalesReceipt",
    "Invoice",
    "Payment",
    "Purchase",
    "Bill",
    "BillPayment",
    "JournalEntry",
)
# A payment entity -> (the transaction it pays, the TxnType it links to, the TxnType the paid
# transaction links back with).
_PAYS = {
    "Payment": ("Invoice", "Invoice", "Payment"),
    "BillPayment": ("Bill", "Bill", "BillPayment"),
}
ENTITIES = NAME_LISTS + TRANSACTIONS
READ_ONLY = ("TaxCode",)
SALES_FORMS = ("SalesReceipt", "Invoice")
ENTITY_BY_PATH = {name.lower(): name for name in ENTITIES}

# Display names share one namespace across people; other lists are unique per type.
_NAME_FIELD = {
    "Account": "Name",
    "Customer": "DisplayName",
    "Vendor": "DisplayName",
    "Item": "Name",
    "PaymentMethod": "Name",
    "TaxCode": "Name",
}
_NAMESPACE = {"Customer": ("Customer", "Vendor"), "Vendor": ("Customer", "Vendor")}

# Members QBO computes or owns; whatever a client sends for them is ignored.
_SERVER_OWNED = {
    "Id",
    "SyncToken",
    "MetaData",
    "domain",
    "sparse",
    "TotalAmt",
    "HomeTotalAmt",
    "Balance",
    "HomeBalance",
    "BalanceWithJobs",
    "UnappliedAmt",
    "FullyQualifiedName",
    "Level",
    "CurrentBalance",
    "CurrentBalanceWithSubAccounts",
    "Classification",
}

_QUERYABLE_EXTRA = {
    "Id",
    "MetaData.CreateTime",
    "MetaData.LastUpdatedTime",
    "Active",
    "Name",
    "DisplayName",
    "GivenName",
    "FamilyName",
    "CompanyName",
    "PrimaryEmailAddr",
    "FullyQualifiedName",
    "Sku",
    "Type",
    "AccountType",
    "AccountSubType",
    "Classification",
    "DocNumber",
    "TxnDate",
    "DueDate",
    "CustomerRef",
    "VendorRef",
    "EntityRef",
    "AccountRef",
    "DepositToAccountRef",
    "PaymentMethodRef",
    "PaymentType",
    "TotalAmt",
    "Balance",
    "PrivateNote",
    "PaymentRefNum",
    "Taxable",
}


def _owned(entity: str) -> set[str]:
    # A payment's TotalAmt is what was paid: input, not a computed total.
    return _SERVER_OWNED - {"TotalAmt"} if entity in _PAYS else _SERVER_OWNED


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _clean(value: Any) -> Any:
    """Drop the ``""``/``None`` members python-quickbooks sends for unset fields."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None or item == "":
                continue
            cleaned = _clean(item)
            if isinstance(cleaned, dict) and not cleaned:
                continue
            out[key] = cleaned
        return out
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    return str(value).strip()


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _id_of(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _ref_value(raw: Any) -> str:
    if isinstance(raw, dict):
        return _id_of(raw.get("value"))
    if isinstance(raw, (str, int)):
        return _id_of(raw)
    return ""


_TXN_LABEL = {
    "SalesReceipt": "Sales Receipt",
    "Invoice": "Invoice",
    "JournalEntry": "Journal Entry",
    "Purchase": "Expense",
}
