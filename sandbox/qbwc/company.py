"""A QuickBooks Desktop company file, as far as qbXML can see it.

It reads a qbXML request message the way QuickBooks does: the whole message is refused
(HRESULT 0x80040400) when it is not well-formed or an element is out of the schema's order;
each request then gets its own ``*Rs`` with a status: 0, 1 (no match), 500 (some names not
found), 3070 (string too long), 3100 (name in use: customer, vendor, employee and other
names are unique together, whatever the case), 3140 (a reference to something that is not
in the list), 3180 (a transaction that does not balance, or a refusal injected by a test).
``onError="stopOnError"`` stops at the first error; ``continueOnError`` runs every request.
Lists and transactions get ``ListID``/``TxnID``/``EditSequence`` the way QuickBooks makes
them, and the whole book can be saved to and loaded from JSON (the demo keeps it between
runs).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.qbwc import schema

PARSE_ERROR_HRESULT = "0x80040400"
PARSE_ERROR_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."
DEFAULT_COMPANY_NAME = "Sandbox Outdoor Supply"

# The seeded chart of accounts: (name, AccountType, SpecialAccountType).
SEED_ACCOUNTS = (
    ("Checking", "Bank", ""),
    ("Undeposited Funds", "OtherCurrentAsset", "UndepositedFunds"),
    ("Accounts Receivable", "AccountsReceivable", "AccountsReceivable"),
    ("Accounts Payable", "AccountsPayable", "AccountsPayable"),
    ("Company Visa", "CreditCard", ""),
    ("Sales Tax Payable", "OtherCurrentLiability", "SalesTaxPayable"),
    ("Merchandise Sales", "Income", ""),
    ("Shipping Income", "Income", ""),
    ("Discounts Given", "Income", ""),
    ("Postage and Delivery", "Expense", ""),
    ("Reconciliation Discrepancies", "Expense", ""),
)
SEED_ITEMS = (("Gift Card", "Merchandise Sales"),)

_TXN_KINDS = {
    "SalesReceiptAdd": "SalesReceipt",
    "InvoiceAdd": "Invoice",
    "ReceivePaymentAdd": "ReceivePayment",
    "CheckAdd": "Check",
    "CreditCardChargeAdd": "CreditCardCharge",
    "BillAdd": "Bill",
    "JournalEntryAdd": "JournalEntry",
}
_LIST_ADDS = {"CustomerAdd": "customer", "VendorAdd": "vendor", "ItemNonInventoryAdd": "item"}


def _d(text: str | None) -> Decimal:
    return Decimal((text or "0").strip() or "0")


def _child(element, name: str):
    return next((c for c in element if c.tag == name), None)


def _text(element, name: str) -> str:
    node = _child(element, name)
    return (node.text or "").strip() if node is not None else ""


class Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ListEntry:
    list_id: str
    kind: str  # customer | vendor | item | account | employee | other
    name: str
    edit_sequence: str
    created: str
    email: str = ""
    account_type: str = ""
    special_type: str = ""
    account_id: str = ""  # items: the account they post to
    active: bool = True


@dataclass
class Txn:
    txn_id: str
    kind: str
    ref_number: str
    txn_date: str
    memo: str
    edit_sequence: str
    created: str
    entity_id: str = ""
    account_id: str = ""
    total: str = "0.00"
    lines: list[dict[str, str]] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # TxnIDs of linked transactions
    applied_to: str = ""  # ReceivePayment: the invoice


class Company:
    """One company file. Thread-safe: the demo's scheduler and a test may share it."""

    def __init__(self, name: str = DEFAULT_COMPANY_NAME) -> None:
        self.name = name
        self.lists: dict[str, ListEntry] = {}
        self.txns: dict[str, Txn] = {}
        self._counter = 0x80000000
        self._lock = threading.RLock()
        # Fault knobs.
        self.refuse_refs: dict[str, tuple[int, str]] = {}
        self.hresult_messages = 0  # the next N messages fail as a whole
        self.requests_seen = 0
        for account, kind, special in SEED_ACCOUNTS:
            self._add_list("account", account, account_type=kind, special_type=special)
        for item, account in SEED_ITEMS:
            self._add_list("item", item, account_id=self.find("account", account).list_id)

    # -- ids ----------------------------------------------------------------------------------

    def _next_id(self) -> tuple[str, str, str]:
        self._counter += 1
        stamp = str(int(time.time()))
        return f"{self._counter:X}-{stamp}", stamp, time.strftime("%Y-%m-%dT%H:%M:%S+00:00")

    def _add_list(self, kind: str, name: str, **fields: Any) -> ListEntry:
        list_id, stamp, created = self._next_id()
        entry = ListEntry(
            list_id=list_id, kind=kind, name=name, edit_sequence=stamp, created=created, **fields
        )
        self.lists[list_id] = entry
        return entry

    # -- reading the book (tests, the demo) --------------------------------------------------

    def find(self, kind: str, name: str) -> ListEntry | None:
        folded = name.casefold()
        return next(
            (e for e in self.lists.values() if e.kind == kind and e.name.casefold() == folded),
            None,
        )

    def names_in_use(self, name: str) -> ListEntry | None:
        folded = name.casefold()
        return next(
            (
                e
                for e in self.lists.values()
                if e.kind in ("customer", "vendor", "employee", "other")
                and e.name.casefold() == folded
            ),
            None,
        )

    def transactions(self, kind: str | None = None) -> list[Txn]:
        return [t for t in self.txns.values() if kind is None or t.kind == kind]

    def of_kind(self, kind: str) -> list[ListEntry]:
        return [e for e in self.lists.values() if e.kind == kind]

    def add_name(self, kind: str, name: str, email: str = "") -> ListEntry:
        """Put a customer/vendor/employee/other name into the book (a test's set-up)."""
        with self._lock:
            return self._add_list(kind, name, email=email)

    def delete(self, list_id: str) -> None:
        with self._lock:
            self.lists.pop(list_id, None)

    # -- saving --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "counter": self._counter,
            "lists": [asdict(e) for e in self.lists.values()],
            "txns": [asdict(t) for t in self.txns.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Company:
        company = cls(data.get("name", DEFAULT_COMPANY_NAME))
        company.lists = {e["list_id"]: ListEntry(**e) for e in data.get("lists", [])}
        company.txns = {t["txn_id"]: Txn(**t) for t in data.get("txns", [])}
        company._counter = int(data.get("counter", company._counter))
        return company

    def save(self, path: Path) -> None:
        with self._lock:
            path.write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: Path) -> Company:
        return cls.from_json(json.loads(path.read_text())) if path.exists() else cls()

    # -- the host query response (first sendRequestXML) --------------------------------------

    def hcp_response(self) -> str:
        return (
            '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
            '<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" '
            'statusMessage="Status OK">'
            "<HostRet><ProductName>QuickBooks Desktop Pro 2024 (sandbox)</ProductName>"
            "<MajorVersion>34</MajorVersion><MinorVersion>0</MinorVersion><Country>US</Country>"
            "<SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>"
            "<IsAutomaticLogin>false</IsAutomaticLogin>"
            "<QBFileMode>SingleUser</QBFileMode></HostRet></HostQueryRs>"
            '<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" '
            'statusMessage="Status OK">'
            f"<CompanyRet><IsSampleCompany>false</IsSampleCompany><CompanyName>{escape(self.name)}"
            "</CompanyName></CompanyRet></CompanyQueryRs></QBXMLMsgsRs></QBXML>"
        )

    # -- processing a request message ---------------------------------------------------------

    def process(self, request_xml: str) -> tuple[str, str, str]:
        """(response, hresult, message): the answer the Web Connector sends back."""
        with self._lock:
            if self.hresult_messages > 0:
                self.hresult_messages -= 1
                return "", "0x80040408", "Could not start QuickBooks."
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            try:
                root = etree.fromstring(request_xml.encode(), parser=parser)
                msgs = _child(root, "QBXMLMsgsRq") if root.tag == "QBXML" else None
                if msgs is None:
                    raise schema.SchemaError("no QBXMLMsgsRq")
                requests = [r for r in msgs if isinstance(r.tag, str)]
                for rq in requests:
                    self._check(rq)
            except (etree.XMLSyntaxError, schema.SchemaError):
                return "", PARSE_ERROR_HRESULT, PARSE_ERROR_MESSAGE
            stop = msgs.get("onError", "stopOnError") == "stopOnError"
            answers = []
            for rq in requests:
                self.requests_seen += 1
                answer, failed = self._answer(rq)
                answers.append(answer)
                if failed and stop:
                    break
            body = "".join(answers)
            return (
                f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>',
                "",
                "",
            )

    def _check(self, rq) -> None:
        name = rq.tag
        if not name.endswith("Rq"):
            raise schema.SchemaError(name)
        base = name[:-2]
        if base.endswith("Query"):
            spec = {"CompanyQuery": "CompanyQuery"}.get(base)
            if spec is None:
                spec = "TxnQuery" if base[:-5] in _TXN_KINDS.values() else "ListQuery"
            with contextlib.suppress(schema.TooLong):
                schema.check(rq, spec)
            return
        body = _child(rq, base)
        if base not in schema.SPECS or body is None:
            raise schema.SchemaError(name)
        with contextlib.suppress(schema.TooLong):  # a per-request 3070, answered below
            schema.check(body, base)

    def _answer(self, rq) -> tuple[str, bool]:
        base = rq.tag[:-2]
        rid = rq.get("requestID", "")
        try:
            if base.endswith("Query"):
                rets, code, message = self._query(base[:-5], rq)
            else:
                body = _child(rq, base)
                schema.check(body, base)
                rets = self._add(base, body)
                code, message = 0, "Status OK"
        except schema.TooLong as exc:
            rets, code, message = "", 3070, str(exc)
        except Refused as exc:
            rets, code, message = "", exc.code, exc.message
        severity = "Info" if code < 500 else ("Warn" if code < 1000 else "Error")
        return (
            f'<{base}Rs requestID="{escape(rid)}" statusCode="{code}" '
            f'statusSeverity="{severity}" statusMessage="{escape(message, {chr(34): "&quot;"})}">'
            f"{rets}</{base}Rs>",
            code >= 1000,
        )

    # -- lists ----------------------------------------------------------------------------------

    def _ref(self, element, name: str, kinds: Iterable[str], what: str, txn: str) -> ListEntry:
        node = _child(element, name)
        list_id = _text(node, "ListID") if node is not None else ""
        full_name = _text(node, "FullName") if node is not None else ""
        entry = self.lists.get(list_id) if list_id else None
        if entry is None and full_name:
            entry = next(
                (
                    e
                    for e in self.lists.values()
                    if e.kind in kinds and e.name.casefold() == full_name.casefold()
                ),
                None,
            )
        if entry is None or entry.kind not in kinds:
            raise Refused(
                3140,
                f'There is an invalid reference to QuickBooks {what} "{list_id or full_name}" in '
                f"the {txn}. QuickBooks error message: Invalid argument. The specified record "
                "does not exist in the list.",
            )
        return entry

    def _add(self, base: str, body) -> str:
        if base in _LIST_ADDS:
            return self._add_list_element(_LIST_ADDS[base], body)
        return self._add_txn(_TXN_KINDS[base], body)

    def _add_list_element(self, kind: str, body) -> str:
        name = _text(body, "Name")
        clash = self.names_in_use(name) if kind != "item" else self.find("item", name)
        if clash is not None:
            raise Refused(3100, f'The name "{name}" of the list element is already in use.')
        fields: dict[str, Any] = {}
        if kind == "customer":
            fields["email"] = _text(body, "Email")
        if kind == "item":
            sales = _child(body, "SalesOrPurchase")
            account = self._ref(sales, "AccountRef", ("account",), "Account", "item")
            fields["account_id"] = account.list_id
        entry = self._add_list(kind, name, **fields)
        return self._list_ret(entry)

    def _list_ret(self, e: ListEntry, include: set[str] | None = None) -> str:
        tag = {
            "customer": "CustomerRet",
            "vendor": "VendorRet",
            "item": "ItemNonInventoryRet",
            "account": "AccountRet",
        }.get(e.kind, "OtherNameRet")
        fields = [
            ("ListID", e.list_id),
            ("TimeCreated", e.created),
            ("TimeModified", e.created),
            ("EditSequence", e.edit_sequence),
            ("Name", e.name),
            ("FullName", e.name),
            ("IsActive", "true" if e.active else "false"),
        ]
        if e.kind == "customer" and e.email:
            fields.append(("Email", e.email))
        if e.kind == "account":
            fields.append(("AccountType", e.account_type))
            if e.special_type:
                fields.append(("SpecialAccountType", e.special_type))
        if include:
            fields = [(k, v) for k, v in fields if k in include]
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields)
        return f"<{tag}>{body}</{tag}>"

    def _query(self, entity: str, rq) -> tuple[str, int, str]:
        include = {c.text for c in rq if c.tag == "IncludeRetElement"} or None
        if entity == "Company":
            return (
                f"<CompanyRet><CompanyName>{escape(self.name)}</CompanyName></CompanyRet>",
                0,
                "Status OK",
            )
        if entity in _TXN_KINDS.values():
            return self._txn_query(entity, rq)
        kind = {"Customer": "customer", "Vendor": "vendor", "Item": "item", "Account": "account"}[
            entity
        ]
        names = [(c.text or "").strip() for c in rq if c.tag == "FullName"]
        ids = [(c.text or "").strip() for c in rq if c.tag == "ListID"]
        pool = [e for e in self.lists.values() if e.kind == kind]
        if names or ids:
            wanted_names = {n.casefold() for n in names}
            found = [e for e in pool if e.name.casefold() in wanted_names or e.list_id in ids]
            missing = [n for n in names if n.casefold() not in {e.name.casefold() for e in found}]
            missing += [i for i in ids if i not in {e.list_id for e in found}]
        else:
            found, missing = [e for e in pool if e.active], []
        rets = "".join(self._list_ret(e, include) for e in found)
        if not found:
            return "", 1, "A query request did not find a matching object in QuickBooks"
        if missing:
            return (
                rets,
                500,
                "The query request has not been fully completed. There was a required element "
                f'("{missing[0]}") that could not be found in QuickBooks.',
            )
        return rets, 0, "Status OK"

    # -- transactions -------------------------------------------------------------------------

    def _lines(self, body, tag: str) -> list:
        return [c for c in body if c.tag == tag]

    def _add_txn(self, kind: str, body) -> str:
        ref = _text(body, "RefNumber")
        if ref in self.refuse_refs:
            code, message = self.refuse_refs[ref]
            raise Refused(code, message)
        txn = Txn(
            txn_id="",
            kind=kind,
            ref_number=ref,
            txn_date=_text(body, "TxnDate") or time.strftime("%Y-%m-%d"),
            memo=_text(body, "Memo"),
            edit_sequence="",
            created="",
        )
        if kind in ("SalesReceipt", "Invoice"):
            txn.entity_id = self._ref(body, "CustomerRef", ("customer",), "Customer", kind).list_id
            if kind == "SalesReceipt":
                txn.account_id = self._ref(
                    body, "DepositToAccountRef", ("account",), "Account", kind
                ).list_id
            total = Decimal("0")
            for line in self._lines(body, f"{kind}LineAdd"):
                item = self._ref(line, "ItemRef", ("item",), "Item", kind)
                amount = _d(_text(line, "Amount"))
                total += amount
                txn.lines.append(
                    {"item": item.list_id, "desc": _text(line, "Desc"), "amount": str(amount),
                     "quantity": _text(line, "Quantity")}
                )  # fmt: skip
            txn.total = str(total)
        elif kind == "ReceivePayment":
            customer = self._ref(body, "CustomerRef", ("customer",), "Customer", kind)
            txn.entity_id = customer.list_id
            txn.account_id = self._ref(
                body, "DepositToAccountRef", ("account",), "Account", kind
            ).list_id
            applied = _child(body, "AppliedToTxnAdd")
            invoice = self.txns.get(_text(applied, "TxnID")) if applied is not None else None
            if (
                invoice is None
                or invoice.kind != "Invoice"
                or invoice.entity_id != customer.list_id
            ):
                raise Refused(
                    3140,
                    "There is an invalid reference to QuickBooks Invoice in the ReceivePayment.",
                )
            txn.applied_to = invoice.txn_id
            txn.total = str(_d(_text(body, "TotalAmount")))
        elif kind in ("Check", "CreditCardCharge", "Bill"):
            if kind == "Bill":
                txn.entity_id = self._ref(body, "VendorRef", ("vendor",), "Vendor", kind).list_id
            else:
                txn.account_id = self._ref(
                    body, "AccountRef", ("account",), "Account", kind
                ).list_id
                txn.entity_id = self._ref(
                    body, "PayeeEntityRef", ("vendor", "customer", "other", "employee"),
                    "Entity", kind,
                ).list_id  # fmt: skip
            total = Decimal("0")
            for line in self._lines(body, "ExpenseLineAdd"):
                account = self._ref(line, "AccountRef", ("account",), "Account", kind)
                amount = _d(_text(line, "Amount"))
                total += amount
                txn.lines.append({"account": account.list_id, "amount": str(amount),
                                  "memo": _text(line, "Memo")})  # fmt: skip
            txn.total = str(total)
        else:  # JournalEntry
            debits = credits = Decimal("0")
            for line in body:
                if line.tag not in ("JournalDebitLine", "JournalCreditLine"):
                    continue
                account = self._ref(line, "AccountRef", ("account",), "Account", kind)
                amount = _d(_text(line, "Amount"))
                side = "debit" if line.tag == "JournalDebitLine" else "credit"
                if side == "debit":
                    debits += amount
                else:
                    credits += amount
                txn.lines.append({"account": account.list_id, "amount": str(amount), "side": side})
            if debits != credits:
                raise Refused(
                    3180,
                    "There was an error when saving a JournalEntry. QuickBooks error message: "
                    "Transactions must be in balance.",
                )
            txn.total = str(debits)
        txn.txn_id, txn.edit_sequence, txn.created = self._next_id()
        self.txns[txn.txn_id] = txn
        if kind == "ReceivePayment":
            self.txns[txn.applied_to].linked.append(txn.txn_id)
            txn.linked.append(txn.applied_to)
        return self._txn_ret(txn, with_links=False)

    def _txn_ret(self, t: Txn, *, with_links: bool) -> str:
        parts = [
            ("TxnID", t.txn_id),
            ("TimeCreated", t.created),
            ("TimeModified", t.created),
            ("EditSequence", t.edit_sequence),
            ("TxnDate", t.txn_date),
            ("RefNumber", t.ref_number),
        ]
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in parts if v)
        if t.entity_id and t.entity_id in self.lists:
            tag = "VendorRef" if t.kind == "Bill" else (
                "PayeeEntityRef" if t.kind in ("Check", "CreditCardCharge") else "CustomerRef"
            )  # fmt: skip
            entity = self.lists[t.entity_id]
            body += (
                f"<{tag}><ListID>{entity.list_id}</ListID>"
                f"<FullName>{escape(entity.name)}</FullName></{tag}>"
            )
        total_tag = "TotalAmount" if t.kind in ("SalesReceipt", "ReceivePayment") else "Amount"
        if t.kind == "Invoice":
            paid = sum((_d(self.txns[x].total) for x in t.linked if x in self.txns), Decimal("0"))
            body += f"<Subtotal>{t.total}</Subtotal>"
            body += f"<BalanceRemaining>{_d(t.total) - paid}</BalanceRemaining>"
            body += f"<IsPaid>{'true' if paid >= _d(t.total) else 'false'}</IsPaid>"
        else:
            body += f"<{total_tag}>{t.total}</{total_tag}>"
        if t.memo:
            body += f"<Memo>{escape(t.memo)}</Memo>"
        if with_links:
            for other_id in t.linked:
                other = self.txns.get(other_id)
                if other is not None:
                    body += (
                        f"<LinkedTxn><TxnID>{other.txn_id}</TxnID><TxnType>{other.kind}</TxnType>"
                        f"<TxnDate>{other.txn_date}</TxnDate><RefNumber>{escape(other.ref_number)}"
                        f"</RefNumber><LinkType>AMTTYPE</LinkType><Amount>-{other.total}</Amount>"
                        "</LinkedTxn>"
                    )
        return f"<{t.kind}Ret>{body}</{t.kind}Ret>"

    def _txn_query(self, kind: str, rq) -> tuple[str, int, str]:
        refs = [(c.text or "").strip() for c in rq if c.tag == "RefNumber"]
        ids = [(c.text or "").strip() for c in rq if c.tag == "TxnID"]
        links = _text(rq, "IncludeLinkedTxns") == "true"
        found = [
            t
            for t in self.txns.values()
            if t.kind == kind and (t.ref_number in refs or t.txn_id in ids or not (refs or ids))
        ]
        if not found:
            return "", 1, "A query request did not find a matching object in QuickBooks"
        return "".join(self._txn_ret(t, with_links=links) for t in found), 0, "Status OK"
