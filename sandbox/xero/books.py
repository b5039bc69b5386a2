"""One Xero organisation's books: what the stand-in stores, and the rules of each write.

Records are kept in their wire shape (what a GET returns). A write request is a list of
elements processed in order, each validated against the books as the earlier elements of
the same request left them:

- ``summarizeErrors=true`` (Xero's default): one invalid element fails the whole request;
  nothing of it is kept (an undo log takes back what the valid ones did).
- ``summarizeErrors=false``: every valid element is kept; an invalid one comes back with
  ``HasErrors``, ``StatusAttributeString: "ERROR"`` and its ``ValidationErrors``.

``PUT`` only creates; ``POST`` updates an element that names an existing record's id, and
creates the others. The document rules live in :mod:`sandbox.xero.documents`.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.xero import seed
from sandbox.xero.where import apply_order, compile_where
from sandbox.xero.wire import ms_datetime

CENT = Decimal("0.01")
ZERO_ID = "00000000-0000-0000-0000-000000000000"

# collection -> (id field, number field used by GET /Collection/{number})
COLLECTIONS: dict[str, tuple[str, str]] = {
    "Accounts": ("AccountID", "Code"),
    "TaxRates": ("TaxType", "TaxType"),
    "Contacts": ("ContactID", "ContactNumber"),
    "Items": ("ItemID", "Code"),
    "Invoices": ("InvoiceID", "InvoiceNumber"),
    "Payments": ("PaymentID", "PaymentID"),
    "BankTransactions": ("BankTransactionID", "BankTransactionID"),
    "ManualJournals": ("ManualJournalID", "ManualJournalID"),
    "Currencies": ("Code", "Code"),
}
PAGED = frozenset({"Contacts", "Invoices", "Payments", "BankTransactions", "ManualJournals"})
WRITABLE = frozenset(
    {"Contacts", "Items", "Invoices", "Payments", "BankTransactions", "ManualJournals"}
)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Invalid(Exception):
    """An element that breaks a rule; its messages become its ``ValidationErrors``."""

    def __init__(self, *messages: str) -> None:
        super().__init__(messages[0] if messages else "invalid")
        self.messages = [m for m in messages if m]


@dataclass
class Replay:
    method: str
    path: str
    status: int
    body: bytes
    stored_at: float


@dataclass
class WriteResult:
    status: int  # 200, or 400 when summarised errors fail the request
    collection: str
    elements: list[dict[str, Any]]
    failed: bool


@dataclass
class Organisation:
    tenant_id: str
    name: str
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    replays: dict[str, Replay] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    period_lock_date: date | None = None
    end_of_year_lock_date: date | None = None
    invoice_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    created: str = field(default_factory=ms_datetime)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def seeded(cls, tenant_id: str, name: str) -> Organisation:
        org = cls(tenant_id=tenant_id, name=name)
        org.records = {name_: {} for name_ in COLLECTIONS}
        now = ms_datetime()
        for account in seed.seed_accounts(tenant_id, now):
            org.records["Accounts"][account["AccountID"]] = account
        for rate in seed.seed_tax_rates():
            org.records["TaxRates"][rate["TaxType"]] = rate
        for code, description in seed.CURRENCIES:
            org.records["Currencies"][code] = {"Code": code, "Description": description}
        org.info = seed.organisation_record(tenant_id, name, org.created)
        return org

    # -- reads ----------------------------------------------------------------------------

    def organisation(self) -> dict[str, Any]:
        record = dict(self.info)
        from sandbox.xero.wire import ms_date

        if self.period_lock_date:
            record["PeriodLockDate"] = ms_date(self.period_lock_date)
        if self.end_of_year_lock_date:
            record["EndOfYearLockDate"] = ms_date(self.end_of_year_lock_date)
        return record

    def all(self, collection: str) -> list[dict[str, Any]]:
        return list(self.records[collection].values())

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        id_field, number_field = COLLECTIONS[collection]
        table = self.records[collection]
        found = table.get(key) or table.get(key.lower())
        if found is not None:
            return found
        return next((r for r in table.values() if str(r.get(number_field, "")) == key), None)

    def query(
        self,
        collection: str,
        *,
        where: str | None = None,
        order: str | None = None,
        ids: Iterable[str] = (),
        numbers: Iterable[str] = (),
        statuses: Iterable[str] = (),
        contact_ids: Iterable[str] = (),
        include_archived: bool = False,
    ) -> list[dict[str, Any]]:
        predicate = compile_where(where)
        id_field, number_field = COLLECTIONS[collection]
        wanted_ids = {i.strip().lower() for i in ids if i.strip()}
        wanted_numbers = {n.strip() for n in numbers if n.strip()}
        wanted_statuses = {s.strip().upper() for s in statuses if s.strip()}
        wanted_contacts = {c.strip().lower() for c in contact_ids if c.strip()}
        rows = []
        for record in self.records[collection].values():
            if wanted_ids and str(record.get(id_field, "")).lower() not in wanted_ids:
                continue
            if wanted_numbers and str(record.get(number_field, "")) not in wanted_numbers:
                continue
            if wanted_statuses and str(record.get("Status", "")).upper() not in wanted_statuses:
                continue
            if wanted_contacts and (
                str((record.get("Contact") or {}).get("ContactID", "")).lower()
                not in wanted_contacts
            ):
                continue
            if (
                collection == "Contacts"
                and not include_archived
                and record.get("ContactStatus") == "ARCHIVED"
            ):
                continue
            if predicate(record):
                rows.append(record)
        return apply_order(rows, order)

    # -- references used by the document rules -------------------------------------------

    def account(
        self, ref: dict[str, Any] | None = None, *, code: str = ""
    ) -> dict[str, Any] | None:
        ref = ref or {}
        account_id = str(ref.get("AccountID") or "").lower()
        code = code or str(ref.get("Code") or "")
        if account_id:
            return self.records["Accounts"].get(account_id)
        if code:
            return next((a for a in self.records["Accounts"].values() if a["Code"] == code), None)
        return None

    def tax_rate(self, tax_type: str) -> dict[str, Any] | None:
        return self.records["TaxRates"].get(tax_type)

    def item_by_code(self, code: str) -> dict[str, Any] | None:
        return next((i for i in self.records["Items"].values() if i.get("Code") == code), None)

    def contact_by_name(self, name: str) -> dict[str, Any] | None:
        wanted = name.strip().casefold()
        return next(
            (
                c
                for c in self.records["Contacts"].values()
                if c.get("ContactStatus") == "ACTIVE" and c["Name"].strip().casefold() == wanted
            ),
            None,
        )

    def next_invoice_number(self) -> str:
        taken = {r.get("InvoiceNumber") for r in self.records["Invoices"].values()}
        while True:
            number = f"INV-{next(self.invoice_numbers):04d}"
            if number not in taken:
                return number

    # -- writes -----------------------------------------------------------------------------

    def write(
        self, collection: str, elements: list[Any], *, method: str, summarize: bool
    ) -> WriteResult:
        from sandbox.xero import documents

        handler: Callable[..., dict[str, Any]] = documents.HANDLERS[collection]
        id_field = COLLECTIONS[collection][0]
        undo: list[tuple[str, str, dict[str, Any] | None]] = []
        out: list[dict[str, Any]] = []
        failed = False
        with self.lock:
            for element in elements:
                if not isinstance(element, dict):
                    element = {}
                existing = None
                element_id = str(element.get(id_field) or "").lower()
                if element_id and element_id != ZERO_ID:
                    existing = self.records[collection].get(element_id)
                    if existing is None or method == "PUT":
                        out.append(
                            _refused(element, id_field, [f"{id_field} {element_id} not found"])
                        )
                        failed = True
                        continue
                try:
                    record = handler(self, element, existing=existing, undo=undo)
                except Invalid as exc:
                    out.append(_refused(element, id_field, exc.messages))
                    failed = True
                    continue
                answer = copy.deepcopy(record)
                answer.update({"HasErrors": False, "StatusAttributeString": "OK"})
                out.append(answer)
            if failed and summarize:
                # Nothing of the request is kept: the valid elements come back as sent.
                self.rollback(undo)
                out = [
                    answer if answer.get("HasErrors") else _echo(element, id_field)
                    for element, answer in zip(elements, out, strict=True)
                ]
                return WriteResult(400, collection, out, True)
        return WriteResult(200, collection, out, failed)

    def store(
        self,
        collection: str,
        record: dict[str, Any],
        undo: list[tuple[str, str, dict[str, Any] | None]],
    ) -> dict[str, Any]:
        id_field = COLLECTIONS[collection][0]
        key = str(record[id_field]).lower() if collection != "TaxRates" else record[id_field]
        previous = self.records[collection].get(key)
        undo.append((collection, key, copy.deepcopy(previous) if previous else None))
        record["UpdatedDateUTC"] = ms_datetime()
        self.records[collection][key] = record
        return record

    def rollback(self, undo: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        for collection, key, previous in reversed(undo):
            if previous is None:
                self.records[collection].pop(key, None)
            else:
                self.records[collection][key] = previous

    def forget_old_replays(self, ttl_seconds: float) -> None:
        cutoff = time.time() - ttl_seconds
        for key in [k for k, r in self.replays.items() if r.stored_at < cutoff]:
            del self.replays[key]


def _refused(element: dict[str, Any], id_field: str, messages: list[str]) -> dict[str, Any]:
    echo = copy.deepcopy(element)
    echo.setdefault(id_field, ZERO_ID)
    echo.update(
        {
            "HasErrors": True,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": m} for m in messages],
        }
    )
    return echo


def _echo(element: Any, id_field: str) -> dict[str, Any]:
    echo = copy.deepcopy(element) if isinstance(element, dict) else {}
    echo.setdefault(id_field, ZERO_ID)
    echo["ValidationErrors"] = []
    return echo


def new_id() -> str:
    return str(uuid.uuid4())
