"""The stand-in company file's own copy of the qbXML 13.0 element orders it enforces.

Kept apart from Unify's builders on purpose: a builder that writes an element out of order
must meet a company file that refuses it, as QuickBooks does (the whole message fails with
HRESULT 0x80040400, "QuickBooks found an error when parsing the provided XML text stream").
Orders and lengths as Intuit's On-Screen Reference lists them for qbxmlops130.xsd; a slot
holds the names that may stand there (a choice), ``*`` marks a repeatable one, and a number
is the longest string the field takes (a longer one is a 3070 status, not a parse error).
"""

from __future__ import annotations

from dataclasses import dataclass

REF = "ref"  # ListID / FullName


@dataclass(frozen=True, slots=True)
class Slot:
    names: tuple[str, ...]
    repeat: bool = False
    child: str | None = None
    maxlen: int = 0


def _slots(*specs: str | tuple) -> tuple[Slot, ...]:
    out = []
    for spec in specs:
        names, child, maxlen = (spec, None, 0) if isinstance(spec, str) else (*spec, 0)[:3]
        parts = names.split("|")
        repeat = any(p.endswith("*") for p in parts)
        out.append(Slot(tuple(p.rstrip("*") for p in parts), repeat, child, maxlen or 0))
    return tuple(out)


_ADDRESS = _slots(
    ("Addr1", None, 41), ("Addr2", None, 41), ("Addr3", None, 41), ("Addr4", None, 41),
    ("Addr5", None, 41), ("City", None, 31), ("State", None, 21), ("PostalCode", None, 13),
    ("Country", None, 31), ("Note", None, 41),
)  # fmt: skip

_SALES_LINE = _slots(
    ("ItemRef", REF), ("Desc", None, 4095), "Quantity", ("UnitOfMeasure", None, 31),
    ("Rate|RatePercent|PriceLevelRef", None), ("ClassRef", REF), "Amount",
    "OptionForPriceRuleConflict", ("InventorySiteRef", REF), ("InventorySiteLocationRef", REF),
    "SerialNumber|LotNumber", "ServiceDate", ("SalesTaxCodeRef", REF), "IsTaxable",
    ("OverrideItemAccountRef", REF), ("Other1", None, 29), ("Other2", None, 29),
    "CreditCardTxnInfo", "DataExt*",
)  # fmt: skip

_EXPENSE_LINE = _slots(
    ("AccountRef", REF), "Amount", "TaxAmount", ("Memo", None, 4095), ("CustomerRef", REF),
    ("ClassRef", REF), ("SalesTaxCodeRef", REF), "BillableStatus", ("SalesRepRef", REF),
    "DataExt*",
)  # fmt: skip

_JOURNAL_LINE = _slots(
    "TxnLineID", ("AccountRef", REF), "Amount", ("Memo", None, 4095), ("EntityRef", REF),
    ("ClassRef", REF), ("ItemSalesTaxRef", REF), "BillableStatus",
)  # fmt: skip

SPECS: dict[str, tuple[Slot, ...]] = {
    REF: _slots("ListID", ("FullName", None, 209)),
    "Address": _ADDRESS,
    "SalesLine": _SALES_LINE,
    "ExpenseLine": _EXPENSE_LINE,
    "JournalLine": _JOURNAL_LINE,
    "SalesReceiptAdd": _slots(
        ("CustomerRef", REF), ("ClassRef", REF), ("TemplateRef", REF), "TxnDate",
        ("RefNumber", None, 11), ("BillAddress", "Address"), ("ShipAddress", "Address"),
        "IsPending", ("CheckNumber", None, 25), ("PaymentMethodRef", REF), "DueDate",
        ("SalesRepRef", REF), "ShipDate", ("ShipMethodRef", REF), ("FOB", None, 13),
        ("ItemSalesTaxRef", REF), ("Memo", None, 4095), ("CustomerMsgRef", REF),
        "IsToBePrinted", "IsToBeEmailed", "IsTaxIncluded", ("CustomerSalesTaxCodeRef", REF),
        ("DepositToAccountRef", REF), "CreditCardTxnInfo", ("Other", None, 29), "ExchangeRate",
        "ExternalGUID", ("SalesReceiptLineAdd|SalesReceiptLineGroupAdd*", "SalesLine"),
    ),
    "InvoiceAdd": _slots(
        ("CustomerRef", REF), ("ClassRef", REF), ("ARAccountRef", REF), ("TemplateRef", REF),
        "TxnDate", ("RefNumber", None, 11), ("BillAddress", "Address"),
        ("ShipAddress", "Address"), "IsPending", ("PONumber", None, 25), ("TermsRef", REF),
        "DueDate", ("SalesRepRef", REF), ("FOB", None, 13), "ShipDate", ("ShipMethodRef", REF),
        ("ItemSalesTaxRef", REF), ("Memo", None, 4095), ("CustomerMsgRef", REF),
        "IsToBePrinted", "IsToBeEmailed", "IsTaxIncluded", ("CustomerSalesTaxCodeRef", REF),
        ("Other", None, 29), "ExchangeRate", "ExternalGUID", "LinkToTxnID*", "SetCredit*",
        ("InvoiceLineAdd|InvoiceLineGroupAdd*", "SalesLine"),
    ),
    "ReceivePaymentAdd": _slots(
        ("CustomerRef", REF), ("ARAccountRef", REF), "TxnDate", ("RefNumber", None, 20),
        "TotalAmount", "ExchangeRate", ("PaymentMethodRef", REF), ("Memo", None, 4095),
        ("DepositToAccountRef", REF), "CreditCardTxnInfo", "ExternalGUID",
        ("IsAutoApply|AppliedToTxnAdd*", "AppliedToTxnAdd"),
    ),
    "AppliedToTxnAdd": _slots(
        "TxnID", "PaymentAmount", "SetCredit*", "DiscountAmount", ("DiscountAccountRef", REF),
        ("DiscountClassRef", REF),
    ),
    "CheckAdd": _slots(
        ("AccountRef", REF), ("PayeeEntityRef", REF), ("RefNumber", None, 11), "TxnDate",
        ("Memo", None, 4095), ("Address", "Address"), "IsToBePrinted", "IsTaxIncluded",
        ("SalesTaxCodeRef", REF), "ExchangeRate", "ExternalGUID", "ApplyCheckToTxnAdd*",
        ("ExpenseLineAdd*", "ExpenseLine"), "ItemLineAdd*", "ItemGroupLineAdd*",
    ),
    "CreditCardChargeAdd": _slots(
        ("AccountRef", REF), ("PayeeEntityRef", REF), "TxnDate", ("RefNumber", None, 11),
        ("Memo", None, 4095), "IsTaxIncluded", ("SalesTaxCodeRef", REF), "ExchangeRate",
        "ExternalGUID", ("ExpenseLineAdd*", "ExpenseLine"), "ItemLineAdd*", "ItemGroupLineAdd*",
    ),
    "BillAdd": _slots(
        ("VendorRef", REF), ("VendorAddress", "Address"), ("APAccountRef", REF), "TxnDate",
        "DueDate", ("RefNumber", None, 20), ("TermsRef", REF), ("Memo", None, 4095),
        "IsTaxIncluded", ("SalesTaxCodeRef", REF), "ExchangeRate", "ExternalGUID",
        "LinkToTxnID*", ("ExpenseLineAdd*", "ExpenseLine"), "ItemLineAdd*", "ItemGroupLineAdd*",
    ),
    "JournalEntryAdd": _slots(
        "TxnDate", ("RefNumber", None, 11), ("Memo", None, 4095), "IsAdjustment",
        "IsHomeCurrencyAdjustment", "IsAmountsEnteredInHomeCurrency", ("CurrencyRef", REF),
        "ExchangeRate", "ExternalGUID", ("JournalDebitLine|JournalCreditLine*", "JournalLine"),
    ),
    "CustomerAdd": _slots(
        ("Name", None, 41), "IsActive", ("ClassRef", REF), ("ParentRef", REF),
        ("CompanyName", None, 41), ("Salutation", None, 15), ("FirstName", None, 25),
        ("MiddleName", None, 5), ("LastName", None, 25), ("JobTitle", None, 41),
        ("BillAddress", "Address"), ("ShipAddress", "Address"), "ShipToAddress*",
        ("Phone", None, 21), ("AltPhone", None, 21), ("Fax", None, 21), ("Email", None, 1023),
        ("Cc", None, 1023), ("Contact", None, 41), ("AltContact", None, 41),
        "AdditionalContactRef*", "Contacts*", ("CustomerTypeRef", REF), ("TermsRef", REF),
        ("SalesRepRef", REF), "OpenBalance", "OpenBalanceDate", ("SalesTaxCodeRef", REF),
        ("ItemSalesTaxRef", REF), ("ResaleNumber", None, 15), ("AccountNumber", None, 99),
        "CreditLimit", ("PreferredPaymentMethodRef", REF), "CreditCardInfo", "JobStatus",
        "JobStartDate", "JobProjectedEndDate", "JobEndDate", ("JobDesc", None, 99),
        ("JobTypeRef", REF), ("Notes", None, 4095), "AdditionalNotes*",
        "PreferredDeliveryMethod", ("PriceLevelRef", REF), "ExternalGUID", ("CurrencyRef", REF),
    ),
    "VendorAdd": _slots(
        ("Name", None, 41), "IsActive", ("ClassRef", REF), "IsTaxAgency",
        ("CompanyName", None, 41), ("Salutation", None, 15), ("FirstName", None, 25),
        ("MiddleName", None, 5), ("LastName", None, 25), ("JobTitle", None, 41),
        ("VendorAddress", "Address"), ("ShipAddress", "Address"), ("Phone", None, 21),
        ("AltPhone", None, 21), ("Fax", None, 21), ("Email", None, 1023), ("Cc", None, 1023),
        ("Contact", None, 41), ("AltContact", None, 41), "AdditionalContactRef*", "Contacts*",
        ("NameOnCheck", None, 41), ("AccountNumber", None, 99), ("Notes", None, 4095),
        "AdditionalNotes*", ("VendorTypeRef", REF), ("TermsRef", REF), "CreditLimit",
        ("VendorTaxIdent", None, 15), "IsVendorEligibleFor1099", "OpenBalance",
        "OpenBalanceDate", ("BillingRateRef", REF), "ExternalGUID", ("PrefillAccountRef*", REF),
        ("CurrencyRef", REF),
    ),
    "ItemNonInventoryAdd": _slots(
        ("Name", None, 31), ("BarCode", None), "IsActive", ("ClassRef", REF),
        ("ParentRef", REF), ("ManufacturerPartNumber", None, 31), ("UnitOfMeasureSetRef", REF),
        "IsTaxIncluded", ("SalesTaxCodeRef", REF),
        ("SalesOrPurchase|SalesAndPurchase", "SalesOrPurchase"), "ExternalGUID",
    ),
    "SalesOrPurchase": _slots(("Desc", None, 4095), "Price|PricePercent", ("AccountRef", REF)),
    "ListQuery": _slots(
        "ListID*|FullName*|MaxReturned", "ActiveStatus", "FromModifiedDate", "ToModifiedDate",
        "NameFilter|NameRangeFilter", "TotalBalanceFilter", "CurrencyFilter", "ClassFilter",
        "AccountType", "IncludeRetElement*", "OwnerID*",
    ),
    "TxnQuery": _slots(
        "TxnID*|RefNumber*|RefNumberCaseSensitive*|MaxReturned",
        "ModifiedDateRangeFilter|TxnDateRangeFilter", "EntityFilter", "AccountFilter",
        "RefNumberFilter|RefNumberRangeFilter", "CurrencyFilter", "PaidStatus",
        "IncludeLineItems", "IncludeLinkedTxns", "IncludeRetElement*", "OwnerID*",
    ),
    "CompanyQuery": _slots("IncludeRetElement*", "OwnerID*"),
}  # fmt: skip


class SchemaError(ValueError):
    """The request breaks the schema: QuickBooks refuses the whole message."""


class TooLong(ValueError):
    """A string over its field's limit: a 3070 status for that one request."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f'The string "{value}" in the field "{field}" is too long.')


def check(element, spec_name: str) -> None:
    """Raise :class:`SchemaError` for an element out of place, :class:`TooLong` for a value
    over its limit."""
    slots = SPECS[spec_name]
    position = -1
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = child.tag
        index = next(
            (i for i in range(max(position, 0), len(slots)) if name in slots[i].names), None
        )
        if index is None:
            earlier = any(name in s.names for s in slots[: max(position, 0)])
            where = "out of order" if earlier else "not expected"
            raise SchemaError(f"<{name}> is {where} in <{element.tag}>")
        if index == position and not slots[index].repeat:
            raise SchemaError(f"<{name}> appears twice in <{element.tag}>")
        position = index
        slot = slots[index]
        if slot.child:
            check(child, slot.child)
        elif slot.maxlen and len(child.text or "") > slot.maxlen:
            raise TooLong(name, child.text or "")
