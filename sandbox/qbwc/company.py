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

Lists and the request loop are here; transactions are mixed in from ``transactions`` and the
records and seeded chart of accounts live in ``records``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.qbwc import schema
from sandbox.qbwc.records import (
    _LIST_ADDS,
    _TXN_KINDS,
    DEFAULT_COMPANY_NAME,
    PARSE_ERROR_HRESULT,
    PARSE_ERROR_MESSAGE,
    SEED_ACCOUNTS,
    SEED_ITEMS,
    ListEntry,
    Refused,
    Txn,
    _child,
    _text,
)
from sandbox.qbwc.transactions import TransactionRequests


class Company(TransactionRequests):
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
