"""One QBO company (realm): its records and the business rules Intuit applies to writes.

Records are kept as the JSON QBO would return, with ``Decimal`` money. Every write goes
through :meth:`Company.save` (create, or update when ``Id`` is given), :meth:`Company.delete`
or :meth:`Company.void`; they raise :class:`~sandbox.qbo.wire.QboFault` with Intuit's codes:

- 2020 required parameter missing, 2050 string too long (``DocNumber`` > 21), 2500 reference
  to something that does not exist, 610 object not found / inactive, 5010 stale
  ``SyncToken``, 6240 duplicate name (display names are unique across customers and vendors),
  6140 duplicate ``DocNumber`` on a sales form (when the company checks for it), 6430 invalid
  account type (deposit to a non-bank account, an item on A/R or A/P), 6070 line
  ``Amount`` is not ``UnitPrice * Qty``, 6000 other business rules (unbalanced journal entry,
  negative total, payment above the invoice balance).
- Totals are computed, never trusted: a sales form's ``TotalAmt`` is the item lines minus
  discounts plus shipping lines (``SHIPPING_ITEM_ID``) plus ``TxnTaxDetail.TotalTax``;
  purchases and bills sum their lines; a journal entry's ``TotalAmt`` is its debits.
- python-quickbooks' serialisation defaults are tolerated: ``""`` means unset, ``Qty: 0`` with
  ``UnitPrice: 0`` means "amount only", ``"SyncToken": 0`` on a create is ignored, numbers may
  arrive as strings.

The store, its indexes and the write paths are here; the rules per kind of record are mixed
in from ``name_lists``, ``transactions``, ``sales_forms``, ``payments`` and ``expenses``, and
the entity lists and value helpers they share live in ``entities``.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.qbo import closed_books, seed
from sandbox.qbo.entities import (
    _NAME_FIELD,
    _NAMESPACE,
    _PAYS,
    _QUERYABLE_EXTRA,
    CENT,
    DOC_NUMBER_MAX,
    ENTITIES,
    ENTITY_BY_PATH,
    NAME_LISTS,
    READ_ONLY,
    SALES_FORMS,
    SHIPPING_ITEM_ID,
    TRANSACTIONS,
    ZERO,
    _bool,
    _clean,
    _id_of,
    _owned,
    _ref_value,
    money,
)
from sandbox.qbo.expenses import ExpenseRules
from sandbox.qbo.name_lists import NameListRules
from sandbox.qbo.payments import PaymentRules
from sandbox.qbo.sales_forms import SalesFormRules
from sandbox.qbo.transactions import TransactionRules
from sandbox.qbo.wire import (
    bad_request_body,
    business_error,
    invalid_reference,
    meta_time,
    object_not_found,
    required_param,
    stale_object,
    unsupported_operation,
)

__all__ = [
    "CENT",
    "DOC_NUMBER_MAX",
    "ENTITIES",
    "ENTITY_BY_PATH",
    "NAME_LISTS",
    "READ_ONLY",
    "SALES_FORMS",
    "SHIPPING_ITEM_ID",
    "TRANSACTIONS",
    "ZERO",
    "Company",
    "Replay",
    "money",
]


@dataclass(slots=True)
class Replay:
    """A stored answer for a ``requestid`` (Intuit replays it instead of writing again)."""

    method: str
    path: str
    status: int
    body: bytes


@dataclass
class Company(NameListRules, SalesFormRules, PaymentRules, ExpenseRules, TransactionRules):
    realm_id: str
    name: str
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    company_info: dict[str, Any] = field(default_factory=dict)
    preferences: dict[str, Any] = field(default_factory=dict)
    replays: dict[str, Replay] = field(default_factory=dict)
    # Stand-in setting: answer a repeated sales-form DocNumber with 6140 (QBO's "warn if a
    # duplicate number is used", which the API enforces as an error).
    reject_duplicate_doc_numbers: bool = True
    # Which transactions the duplicate check covers (sales forms unless told otherwise: e.g.
    # bills and journal entries too) and the code it answers with (6140, or 6210).
    duplicate_doc_number_entities: frozenset[str] = frozenset()
    duplicate_doc_number_code: int = 6140
    # (entity, Id) created by earlier items of the batch being run: invisible to later ones.
    unseen: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _next_list_id: dict[str, int] = field(default_factory=dict)
    # Indexes that keep name and DocNumber checks (and look-ups by them) O(1) at 10,000s of
    # documents: casefolded name -> (entity, Id); entity -> casefolded DocNumber -> Ids.
    _names: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    _doc_numbers: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _next_txn_id: int = 100
    _next_doc_number: int = 1001

    @classmethod
    def seeded(cls, realm_id: str, name: str) -> Company:
        company = cls(realm_id=realm_id, name=name)
        company.records = {entity: {} for entity in ENTITIES}
        company.records.update(seed.seed_records())
        company.deleted = {entity: {} for entity in ENTITIES}
        company.company_info = seed.company_info(realm_id, name)
        company.preferences = seed.preferences()
        for entity in NAME_LISTS:
            numeric = [int(i) for i in company.records[entity] if i.isdigit()]
            company._next_list_id[entity] = max(numeric, default=0) + 1
            for record in company.records[entity].values():
                company._index(entity, record)
        return company

    # -- indexes --------------------------------------------------------------------------------

    @staticmethod
    def _namespace(entity: str) -> str:
        return "people" if entity in _NAMESPACE else entity

    def _index(self, entity: str, record: dict[str, Any]) -> None:
        name_field = _NAME_FIELD.get(entity)
        if name_field and record.get(name_field):
            names = self._names.setdefault(self._namespace(entity), {})
            names[str(record[name_field]).casefold()] = (entity, record["Id"])
        if entity in TRANSACTIONS and record.get("DocNumber"):
            numbers = self._doc_numbers.setdefault(entity, {})
            numbers.setdefault(str(record["DocNumber"]).casefold(), set()).add(record["Id"])

    def _unindex(self, entity: str, record: dict[str, Any]) -> None:
        name_field = _NAME_FIELD.get(entity)
        if name_field and record.get(name_field):
            names = self._names.get(self._namespace(entity), {})
            key = str(record[name_field]).casefold()
            if names.get(key) == (entity, record["Id"]):
                del names[key]
        if entity in TRANSACTIONS and record.get("DocNumber"):
            ids = self._doc_numbers.get(entity, {}).get(str(record["DocNumber"]).casefold())
            if ids is not None:
                ids.discard(record["Id"])

    def _store(self, entity: str, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
        if previous is not None:
            self._unindex(entity, previous)
        self.records[entity][record["Id"]] = record
        self._index(entity, record)

    def by_name(self, entity: str, name: str) -> dict[str, Any] | None:
        hit = self._names.get(self._namespace(entity), {}).get(name.casefold())
        if hit is None or hit[0] != entity:
            return None
        return self.records[entity].get(hit[1])

    def by_doc_number(self, entity: str, number: str) -> list[dict[str, Any]]:
        ids = self._doc_numbers.get(entity, {}).get(number.casefold(), set())
        return [self.records[entity][i] for i in sorted(ids) if i in self.records[entity]]

    def candidates(self, entity: str, conditions: list[Any]) -> list[dict[str, Any]] | None:
        """Records that can match an equality/IN condition on an indexed member, or None."""
        name_field = _NAME_FIELD.get(entity, "").lower()
        for condition in conditions:
            if condition.op not in ("=", "IN"):
                continue
            member = condition.field.lower()
            values = [str(v) for v in condition.values if not isinstance(v, bool)]
            if member == "id":
                found = [self.records[entity].get(v) for v in values]
            elif name_field and member == name_field:
                found = [self.by_name(entity, v) for v in values]
            elif member == "docnumber" and entity in TRANSACTIONS:
                found = [r for v in values for r in self.by_doc_number(entity, v)]
            else:
                continue
            return [r for r in found if r is not None]
        return None

    # -- reads ----------------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        record = self.records[entity].get(_id_of(record_id))
        if record is None:
            raise object_not_found(entity, record_id)
        return record

    def all(self, entity: str) -> list[dict[str, Any]]:
        return list(self.records[entity].values())

    def queryable(self, entity: str, name: str) -> bool:
        if name in _QUERYABLE_EXTRA or name.split(".")[0] in _QUERYABLE_EXTRA:
            return True
        lowered = name.split(".")[0].lower()
        return any(lowered in (k.lower() for k in r) for r in self.records.get(entity, {}).values())

    def pref(self, group: str, key: str, default: Any = None) -> Any:
        return self.preferences.get(group, {}).get(key, default)

    # -- writes ---------------------------------------------------------------------------------

    def save(self, entity: str, body: Any) -> dict[str, Any]:
        """Create, or update when the body carries an ``Id``; returns the stored record."""
        if not isinstance(body, dict):
            raise bad_request_body(entity)
        if entity in READ_ONLY:
            raise unsupported_operation(entity, "Create")
        with self.lock:
            record_id = _id_of(body.get("Id"))
            if record_id and record_id != "0":
                return self._update(entity, record_id, body)
            return self._create(entity, body)

    def delete(self, entity: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request_body(entity)
        if entity not in TRANSACTIONS:
            # Name-list objects are made inactive instead (Active=false).
            raise unsupported_operation(entity, "Delete")
        with self.lock:
            existing = self._existing_for_write(entity, body)
            closed_books.refuse_if_closed(self, str(existing.get("TxnDate", "")))
            if entity == "Invoice" and self._applied_to_invoice(existing["Id"]) > 0:
                raise business_error(
                    "This invoice has payments applied to it. Delete the payments first."
                )
            if entity == "Bill" and self._applied_to("Bill", existing["Id"]) > 0:
                raise business_error(
                    "This bill has bill payments applied to it. Delete the bill payments first."
                )
            if entity in _PAYS:
                self._unapply_payment(existing, entity)
            del self.records[entity][existing["Id"]]
            self._unindex(entity, existing)
            self.deleted[entity][existing["Id"]] = existing
            return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}

    def void(self, entity: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request_body(entity)
        if entity not in ("Invoice", "SalesReceipt", "Payment", "BillPayment"):
            raise unsupported_operation(entity, "Void")
        with self.lock:
            existing = self._existing_for_write(entity, body)
            if entity in _PAYS:
                self._unapply_payment(existing, entity)
            voided = copy.deepcopy(existing)
            for line in voided.get("Line", []):
                if "Amount" in line:
                    line["Amount"] = ZERO
            voided["TotalAmt"] = ZERO
            if "Balance" in voided:
                voided["Balance"] = ZERO
            if entity in _PAYS:
                voided["UnappliedAmt"] = ZERO
            voided["PrivateNote"] = "Voided"
            self._touch(voided)
            self._store(entity, voided, existing)
            return voided

    def insert(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create through the same rules, for the control API (documents made "by the user")."""
        return self.save(entity, {k: v for k, v in body.items() if k != "Id"})

    # -- internals ------------------------------------------------------------------------------

    def _existing_for_write(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        record_id = _id_of(body.get("Id"))
        if not record_id:
            raise required_param("Id")
        existing = self.records[entity].get(record_id)
        if existing is None:
            raise object_not_found(entity, record_id)
        sent = _id_of(body.get("SyncToken"))
        if not sent:
            raise required_param("SyncToken")
        if sent != existing["SyncToken"]:
            raise stale_object(entity, record_id, sent, existing["SyncToken"])
        return existing

    def _touch(self, record: dict[str, Any]) -> None:
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = {
            "CreateTime": record["MetaData"]["CreateTime"],
            "LastUpdatedTime": meta_time(),
        }

    def _new_id(self, entity: str) -> str:
        if entity in TRANSACTIONS:
            self._next_txn_id += 1
            return str(self._next_txn_id)
        next_id = self._next_list_id.get(entity, 1)
        self._next_list_id[entity] = next_id + 1
        return str(next_id)

    def _create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self._build(entity, body, existing=None)
        record_id = self._new_id(entity)
        now = meta_time()
        record.update(
            {
                "domain": "QBO",
                "sparse": False,
                "Id": record_id,
                "SyncToken": "0",
                "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
            }
        )
        self._after_write(entity, record, previous=None)
        self._store(entity, record, None)
        return record

    def _update(self, entity: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        existing = self._existing_for_write(entity, {**body, "Id": record_id})
        if _bool(body.get("sparse"), False):
            owned = _owned(entity)
            merged = {k: v for k, v in existing.items() if k not in owned}
            merged.update({k: v for k, v in body.items() if k not in owned})
            source = merged
        else:
            source = body
        record = self._build(entity, source, existing=existing)
        record.update(
            {
                "domain": "QBO",
                "sparse": False,
                "Id": existing["Id"],
                "SyncToken": existing["SyncToken"],
                "MetaData": dict(existing["MetaData"]),
            }
        )
        self._touch(record)
        self._after_write(entity, record, previous=existing)
        self._store(entity, record, existing)
        return record

    def _after_write(
        self, entity: str, record: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        if entity in _PAYS:
            if previous is not None:
                self._unapply_payment(previous, entity)
            self._apply_payment(record, entity)
        if entity in ("Invoice", "Bill") and previous is not None:
            applied = self._applied_to(entity, record["Id"])
            if applied > record["TotalAmt"]:
                raise business_error(
                    f"The {entity.lower()} total {record['TotalAmt']} is less than the payments "
                    f"applied to it ({applied})."
                )
            record["Balance"] = money(record["TotalAmt"] - applied)
            record["LinkedTxn"] = previous.get("LinkedTxn", [])

    def _build(
        self, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        owned = _owned(entity)
        cleaned = _clean({k: v for k, v in body.items() if k not in owned})
        builder = getattr(self, f"_build_{entity.lower()}")
        return builder(cleaned, existing)

    # -- references -----------------------------------------------------------------------------

    def ref(
        self,
        entity: str,
        raw: Any,
        element: str,
        *,
        required: bool = False,
    ) -> dict[str, Any] | None:
        value = _ref_value(raw)
        if not value:
            if required:
                raise required_param(element)
            return None
        record = self.records[entity].get(value)
        if record is None or (entity, value) in self.unseen:
            raise invalid_reference(element, value)
        if record.get("Active") is False:
            raise object_not_found(entity, value)
        name = record.get("FullyQualifiedName") or record.get(_NAME_FIELD.get(entity, "Name"))
        out = {"value": value}
        if name and entity != "TaxCode":
            out["name"] = name
        return out

    def _entity_ref(self, raw: Any, element: str) -> dict[str, Any] | None:
        """``EntityRef`` of a purchase: a vendor or a customer (``type`` says which)."""
        value = _ref_value(raw)
        if not value:
            return None
        kind = raw.get("type") if isinstance(raw, dict) else None
        candidates = [kind] if kind in ("Vendor", "Customer") else ["Vendor", "Customer"]
        for candidate in candidates:
            if value in self.records[candidate] and (candidate, value) not in self.unseen:
                ref = self.ref(candidate, raw, element)
                assert ref is not None
                ref["type"] = candidate
                return ref
        raise invalid_reference(element, value)
