"""qbXML requests in the schema's element order, and the answers read back.

Element orders follow Intuit's qbXML 13.0 schema (``qbxmlops130.xsd``; the On-Screen
Reference shows the same order): QuickBooks refuses a request whose elements are out of
order. Only the elements Unify uses are written, each in its place. References to lists go
by ``ListID`` (robust to renames).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from lxml import etree

from accounting.ledgers.qbd import names
from accounting.ledgers.qbd.xmlsafe import XmlRejected, local, parse

QBXML_VERSION = "13.0"
# Status codes (Intuit, "Status codes in response messages").
OK = 0
NO_MATCH = 1
NOT_ALL_FOUND = 500
NAME_IN_USE = 3100
INVALID_REFERENCE = 3140
STRING_TOO_LONG = 3070
STALE_EDIT_SEQUENCE = 3200


def _e(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _ref(name: str, list_id: str) -> str:
    return f"<{name}><ListID>{escape(list_id)}</ListID></{name}>"


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def envelope(requests: Iterable[str], *, version: str = QBXML_VERSION) -> str:
    """One message; every request runs even when another fails (``continueOnError``):
    each one stands alone, references were resolved in earlier messages."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<?qbxml version="{version}"?>'
        '<QBXML><QBXMLMsgsRq onError="continueOnError">'
        + "".join(requests)
        + "</QBXMLMsgsRq></QBXML>"
    )


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------


def list_query(entity: str, request_id: str, full_names: Sequence[str]) -> str:
    """``CustomerQueryRq`` / ``VendorQueryRq`` / ``ItemQueryRq`` by full names."""
    body = "".join(_e("FullName", n) for n in full_names)
    return f'<{entity}QueryRq requestID="{request_id}">{body}</{entity}QueryRq>'


def customer_add(request_id: str, *, name: str, email: str = "") -> str:
    body = _e("Name", name)
    if email and len(email) <= names.EMAIL:
        body += _e("Email", email)
    return (
        f'<CustomerAddRq requestID="{request_id}"><CustomerAdd>{body}</CustomerAdd></CustomerAddRq>'
    )


def vendor_add(request_id: str, *, name: str) -> str:
    body = _e("Name", name)
    return f'<VendorAddRq requestID="{request_id}"><VendorAdd>{body}</VendorAdd></VendorAddRq>'


def item_non_inventory_add(request_id: str, *, name: str, account_id: str, desc: str = "") -> str:
    sales = (_e("Desc", names.fit_text(desc, names.DESC)) if desc else "") + "<Price>0.00</Price>"
    sales += _ref("AccountRef", account_id)
    return (
        f'<ItemNonInventoryAddRq requestID="{request_id}"><ItemNonInventoryAdd>'
        f"{_e('Name', name)}<SalesOrPurchase>{sales}</SalesOrPurchase>"
        "</ItemNonInventoryAdd></ItemNonInventoryAddRq>"
    )


def catalog_requests() -> list[str]:
    """Accounts and items for the posting settings, and the company's name."""
    accounts = "".join(
        _e("IncludeRetElement", e)
        for e in ("ListID", "FullName", "IsActive", "AccountType", "SpecialAccountType")
    )
    items = "".join(_e("IncludeRetElement", e) for e in ("ListID", "FullName", "IsActive"))
    return [
        '<CompanyQueryRq requestID="company"><IncludeRetElement>CompanyName</IncludeRetElement>'
        "</CompanyQueryRq>",
        f'<AccountQueryRq requestID="accounts">{accounts}</AccountQueryRq>',
        f'<ItemQueryRq requestID="items">{items}</ItemQueryRq>',
    ]


# ---------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """A sales line: an item (``ListID``), a description, an amount, a quantity or none."""

    item_id: str
    desc: str
    amount: Decimal
    quantity: Decimal | None = None


def _sales_lines(tag: str, lines: Sequence[Line]) -> str:
    out = []
    for line in lines:
        body = _ref("ItemRef", line.item_id)
        if line.desc:
            body += _e("Desc", names.fit_text(line.desc, names.DESC))
        if line.quantity is not None:
            body += _e("Quantity", quantity(line.quantity))
        # Quantity and Amount, no Rate: QuickBooks derives the rate, the amount stays exact.
        body += _e("Amount", money(line.amount))
        out.append(f"<{tag}>{body}</{tag}>")
    return "".join(out)


def sales_receipt_add(
    request_id: str,
    *,
    customer_id: str,
    txn_date: date,
    ref_number: str,
    memo: str,
    deposit_account_id: str,
    payment_method_id: str,
    lines: Sequence[Line],
) -> str:
    body = _ref("CustomerRef", customer_id)
    body += _e("TxnDate", txn_date.isoformat()) + _e("RefNumber", ref_number)
    if payment_method_id:
        body += _ref("PaymentMethodRef", payment_method_id)
    body += _e("Memo", names.fit_text(memo, names.MEMO))
    body += _ref("DepositToAccountRef", deposit_account_id)
    body += _sales_lines("SalesReceiptLineAdd", lines)
    return (
        f'<SalesReceiptAddRq requestID="{request_id}"><SalesReceiptAdd>{body}'
        "</SalesReceiptAdd></SalesReceiptAddRq>"
    )


def invoice_add(
    request_id: str,
    *,
    customer_id: str,
    txn_date: date,
    ref_number: str,
    memo: str,
    lines: Sequence[Line],
) -> str:
    body = _ref("CustomerRef", customer_id)
    body += _e("TxnDate", txn_date.isoformat()) + _e("RefNumber", ref_number)
    body += _e("Memo", names.fit_text(memo, names.MEMO))
    body += _sales_lines("InvoiceLineAdd", lines)
    return f'<InvoiceAddRq requestID="{request_id}"><InvoiceAdd>{body}</InvoiceAdd></InvoiceAddRq>'


def receive_payment_add(
    request_id: str,
    *,
    customer_id: str,
    txn_date: date,
    ref_number: str,
    amount: Decimal,
    payment_method_id: str,
    memo: str,
    deposit_account_id: str,
    invoice_txn_id: str,
) -> str:
    body = _ref("CustomerRef", customer_id)
    body += _e("TxnDate", txn_date.isoformat())
    body += _e("RefNumber", names.fit(ref_number, names.REF_NUMBER_LONG))
    body += _e("TotalAmount", money(amount))
    if payment_method_id:
        body += _ref("PaymentMethodRef", payment_method_id)
    body += _e("Memo", names.fit_text(memo, names.MEMO))
    body += _ref("DepositToAccountRef", deposit_account_id)
    body += (
        f"<AppliedToTxnAdd>{_e('TxnID', invoice_txn_id)}{_e('PaymentAmount', money(amount))}"
        "</AppliedToTxnAdd>"
    )
    return (
        f'<ReceivePaymentAddRq requestID="{request_id}"><ReceivePaymentAdd>{body}'
        "</ReceivePaymentAdd></ReceivePaymentAddRq>"
    )


def _expense_lines(lines: Sequence[tuple[str, Decimal, str]]) -> str:
    return "".join(
        f"<ExpenseLineAdd>{_ref('AccountRef', account)}{_e('Amount', money(amount))}"
        f"{_e('Memo', names.fit_text(text, names.MEMO)) if text else ''}</ExpenseLineAdd>"
        for account, amount, text in lines
    )


def check_add(
    request_id: str,
    *,
    bank_account_id: str,
    vendor_id: str,
    ref_number: str,
    txn_date: date,
    memo: str,
    lines: Sequence[tuple[str, Decimal, str]],
) -> str:
    body = _ref("AccountRef", bank_account_id) + _ref("PayeeEntityRef", vendor_id)
    body += _e("RefNumber", ref_number) + _e("TxnDate", txn_date.isoformat())
    body += _e("Memo", names.fit_text(memo, names.MEMO)) + _expense_lines(lines)
    return f'<CheckAddRq requestID="{request_id}"><CheckAdd>{body}</CheckAdd></CheckAddRq>'


def credit_card_charge_add(
    request_id: str,
    *,
    card_account_id: str,
    vendor_id: str,
    ref_number: str,
    txn_date: date,
    memo: str,
    lines: Sequence[tuple[str, Decimal, str]],
) -> str:
    body = _ref("AccountRef", card_account_id) + _ref("PayeeEntityRef", vendor_id)
    body += _e("TxnDate", txn_date.isoformat()) + _e("RefNumber", ref_number)
    body += _e("Memo", names.fit_text(memo, names.MEMO)) + _expense_lines(lines)
    return (
        f'<CreditCardChargeAddRq requestID="{request_id}"><CreditCardChargeAdd>{body}'
        "</CreditCardChargeAdd></CreditCardChargeAddRq>"
    )


def bill_add(
    request_id: str,
    *,
    vendor_id: str,
    txn_date: date,
    ref_number: str,
    memo: str,
    lines: Sequence[tuple[str, Decimal, str]],
) -> str:
    body = _ref("VendorRef", vendor_id) + _e("TxnDate", txn_date.isoformat())
    body += _e("RefNumber", names.fit(ref_number, names.REF_NUMBER_LONG))
    body += _e("Memo", names.fit_text(memo, names.MEMO)) + _expense_lines(lines)
    return f'<BillAddRq requestID="{request_id}"><BillAdd>{body}</BillAdd></BillAddRq>'


def journal_entry_add(
    request_id: str,
    *,
    txn_date: date,
    ref_number: str,
    memo: str,
    debits: Sequence[tuple[str, Decimal, str]],
    credits: Sequence[tuple[str, Decimal, str]],
) -> str:
    def lines(tag: str, entries: Sequence[tuple[str, Decimal, str]]) -> str:
        return "".join(
            f"<{tag}>{_ref('AccountRef', account)}{_e('Amount', money(amount))}"
            f"{_e('Memo', names.fit_text(text, names.JOURNAL_MEMO)) if text else ''}</{tag}>"
            for account, amount, text in entries
        )

    body = _e("TxnDate", txn_date.isoformat()) + _e("RefNumber", ref_number)
    body += _e("Memo", names.fit_text(memo, names.JOURNAL_MEMO))
    body += lines("JournalDebitLine", debits) + lines("JournalCreditLine", credits)
    return (
        f'<JournalEntryAddRq requestID="{request_id}"><JournalEntryAdd>{body}'
        "</JournalEntryAdd></JournalEntryAddRq>"
    )


def txn_query(entity: str, request_id: str, ref_numbers: Sequence[str]) -> str:
    """A transaction query by reference numbers (after an unknown outcome). Invoices come
    with their linked transactions: a linked payment tells whether the payment was made."""
    body = "".join(_e("RefNumber", r) for r in ref_numbers)
    if entity == "Invoice":
        body += "<IncludeLinkedTxns>true</IncludeLinkedTxns>"
    return f'<{entity}QueryRq requestID="{request_id}">{body}</{entity}QueryRq>'


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """One ``*Rs`` of a response message."""

    name: str  # "CustomerAddRs"
    request_id: str
    code: int
    severity: str
    message: str
    rets: tuple[etree._Element, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.code == OK


def text(element: etree._Element | None, *path: str) -> str:
    node = element
    for name in path:
        if node is None:
            return ""
        node = next((c for c in node if local(c.tag) == name), None)
    return (node.text or "").strip() if node is not None else ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if local(c.tag) == name]


def read_response(xml: str, *, max_bytes: int) -> list[Answer]:
    """Every answer of a qbXML response message. Raises ``XmlRejected``."""
    root = parse(xml, max_bytes=max_bytes)
    if local(root.tag) != "QBXML":
        raise XmlRejected("not a qbXML document")
    msgs = next((c for c in root if local(c.tag) == "QBXMLMsgsRs"), None)
    if msgs is None:
        raise XmlRejected("qbXML response without QBXMLMsgsRs")
    answers = []
    for rs in msgs:
        name = local(rs.tag)
        if not name.endswith("Rs"):
            continue
        try:
            code = int(rs.get("statusCode", "0"))
        except ValueError:
            raise XmlRejected(f"{name}: statusCode is not a number") from None
        answers.append(
            Answer(
                name=name,
                request_id=rs.get("requestID", ""),
                code=code,
                severity=rs.get("statusSeverity", ""),
                message=(rs.get("statusMessage") or "")[:2000],
                rets=tuple(c for c in rs if local(c.tag).endswith("Ret")),
            )
        )
    return answers
