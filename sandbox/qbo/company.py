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
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo import account_types, closed_books, currency, sales_tax, seed
from sandbox.qbo.wire import (
    bad_request_body,
    business_error,
    duplicate_doc_number,
    duplicate_name,
    invalid_date,
    invalid_enum,
    invalid_reference,
    meta_time,
    object_not_found,
    required_param,
    stale_object,
    string_too_long,
    to_decimal,
    today_pacific,
    unsupported_operation,
)

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


@dataclass(slots=True)
class Replay:
    """A stored answer for a ``requestid`` (Intuit replays it instead of writing again)."""

    method: str
    path: str
    status: int
    body: bytes


@dataclass
class Company:
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

    # -- name lists -----------------------------------------------------------------------------

    def _check_unique_name(self, entity: str, name: str, own_id: str | None) -> None:
        hit = self._names.get(self._namespace(entity), {}).get(name.casefold())
        if hit is not None and hit != (entity, own_id):
            raise duplicate_name(entity, hit[1])

    def _deactivated_name(self, name: str, active: bool, existing: dict[str, Any] | None) -> str:
        # QBO renames what it makes inactive so the name is free again.
        if not active and existing is not None and existing.get("Active", True):
            return f"{name} (deleted)"
        return name

    def _build_person(
        self, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        record = dict(body)
        display = _text(body, "DisplayName")
        if not display:
            parts = [
                _text(body, k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
            ]
            display = " ".join(p for p in parts if p) or _text(body, "CompanyName")
        if not display:
            raise required_param("DisplayName")
        for key, limit in (
            ("DisplayName", 500),
            ("GivenName", 100),
            ("MiddleName", 100),
            ("FamilyName", 100),
            ("CompanyName", 100),
            ("Title", 16),
            ("Suffix", 16),
            ("PrintOnCheckName", 110),
        ):
            value = display if key == "DisplayName" else _text(body, key)
            if len(value) > limit:
                raise string_too_long(key, limit, len(value))
        active = _bool(body.get("Active"), True)
        display = self._deactivated_name(display, active, existing)
        self._check_unique_name(entity, display, existing["Id"] if existing else None)
        record["DisplayName"] = display
        record["FullyQualifiedName"] = display
        record.setdefault("PrintOnCheckName", display[:110])
        record["Active"] = active
        record["Balance"] = existing.get("Balance", ZERO) if existing else ZERO
        record["CurrencyRef"] = {"value": "USD", "name": "United States Dollar"}
        for ref_key, ref_entity in (("DefaultTaxCodeRef", "TaxCode"), ("APAccountRef", "Account")):
            if ref_key in body:
                record[ref_key] = self.ref(ref_entity, body[ref_key], ref_key)
        if entity == "Customer":
            record["BalanceWithJobs"] = record["Balance"]
            record.setdefault("Taxable", True)
            record.setdefault("Job", False)
            record.setdefault("BillWithParent", False)
            if "PaymentMethodRef" in body:
                record["PaymentMethodRef"] = self.ref(
                    "PaymentMethod", body["PaymentMethodRef"], "PaymentMethodRef"
                )
            for key in ("IsProject",):
                record.setdefault(key, False)
        else:
            record.setdefault("Vendor1099", False)
        return {k: v for k, v in record.items() if v is not None}

    def _build_customer(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        return self._build_person("Customer", body, existing)

    def _build_vendor(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        return self._build_person("Vendor", body, existing)

    def _build_item(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = dict(body)
        name = _text(body, "Name")
        if not name:
            raise required_param("Name")
        if len(name) > 100:
            raise string_too_long("Name", 100, len(name))
        item_type = _text(body, "Type")
        if not item_type:
            raise required_param("Type")
        if item_type not in ("Service", "NonInventory", "Inventory"):
            raise invalid_enum("Type", item_type)
        sku = _text(body, "Sku")
        if len(sku) > 100:
            raise string_too_long("Sku", 100, len(sku))
        active = _bool(body.get("Active"), True)
        name = self._deactivated_name(name, active, existing)
        self._check_unique_name("Item", name, existing["Id"] if existing else None)
        record["Name"] = name
        record["FullyQualifiedName"] = name
        record["Type"] = item_type
        record["Active"] = active
        record["IncomeAccountRef"] = self.ref(
            "Account", body.get("IncomeAccountRef"), "IncomeAccountRef", required=True
        )
        account_types.check_item_account(self, record["IncomeAccountRef"], "IncomeAccountRef")
        for key in ("ExpenseAccountRef", "AssetAccountRef"):
            required = item_type == "Inventory"
            ref = self.ref("Account", body.get(key), key, required=required)
            if ref is not None:
                if key == "ExpenseAccountRef":
                    account_types.check_item_account(self, ref, key)
                record[key] = ref
            else:
                record.pop(key, None)
        for key in ("SalesTaxCodeRef", "PurchaseTaxCodeRef"):
            if key in body:
                record[key] = self.ref("TaxCode", body[key], key)
        price = to_decimal(body.get("UnitPrice"), "UnitPrice")
        record["UnitPrice"] = price if price is not None else Decimal("0")
        cost = to_decimal(body.get("PurchaseCost"), "PurchaseCost")
        if cost is not None:
            record["PurchaseCost"] = cost
        default_taxable = (
            existing.get("Taxable", False) if existing else sales_tax.items_taxable_by_default(self)
        )
        record["Taxable"] = _bool(body.get("Taxable"), default_taxable)
        record.setdefault("TrackQtyOnHand", item_type == "Inventory")
        return {k: v for k, v in record.items() if v is not None}

    def _build_account(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = dict(body)
        name = _text(body, "Name")
        if not name:
            raise required_param("Name")
        if len(name) > 100:
            raise string_too_long("Name", 100, len(name))
        account_type = _text(body, "AccountType")
        subtype = _text(body, "AccountSubType")
        if not account_type and subtype:
            account_type = next(
                (t for t, s in seed.DEFAULT_SUBTYPE.items() if s == subtype), account_type
            )
        if not account_type:
            raise required_param("AccountType")
        if account_type not in seed.CLASSIFICATION:
            raise invalid_enum("AccountType", account_type)
        active = _bool(body.get("Active"), True)
        name = self._deactivated_name(name, active, existing)
        self._check_unique_name("Account", name, existing["Id"] if existing else None)
        record.update(
            {
                "Name": name,
                "FullyQualifiedName": name,
                "SubAccount": False,
                "Active": active,
                "AccountType": account_type,
                "AccountSubType": subtype or seed.DEFAULT_SUBTYPE[account_type],
                "Classification": seed.CLASSIFICATION[account_type],
                "CurrentBalance": existing.get("CurrentBalance", ZERO) if existing else ZERO,
                "CurrentBalanceWithSubAccounts": existing.get("CurrentBalance", ZERO)
                if existing
                else ZERO,
                "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
            }
        )
        return record

    def _build_paymentmethod(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = dict(body)
        name = _text(body, "Name")
        if not name:
            raise required_param("Name")
        if len(name) > 31:
            raise string_too_long("Name", 31, len(name))
        self._check_unique_name("PaymentMethod", name, existing["Id"] if existing else None)
        kind = _text(body, "Type") or "NON_CREDIT_CARD"
        if kind not in ("CREDIT_CARD", "NON_CREDIT_CARD"):
            raise invalid_enum("Type", kind)
        record.update({"Name": name, "Type": kind, "Active": _bool(body.get("Active"), True)})
        return record

    # -- transactions: shared -------------------------------------------------------------------

    def _txn_common(
        self, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        record = dict(body)
        txn_date = _text(body, "TxnDate") or (
            existing["TxnDate"] if existing is not None else today_pacific()
        )
        try:
            date.fromisoformat(txn_date)
        except ValueError:
            raise invalid_date("TxnDate", txn_date) from None
        record["TxnDate"] = txn_date
        closed_books.refuse_if_closed(self, txn_date, existing)
        note = _text(body, "PrivateNote")
        if len(note) > 4000:
            raise string_too_long("PrivateNote", 4000, len(note))
        currency.apply_currency(self, record, body)
        if entity != "Payment":
            record["DocNumber"] = self._doc_number(entity, body, existing)
            if not record["DocNumber"]:
                del record["DocNumber"]
        return record

    def _doc_number(
        self, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> str:
        number = _text(body, "DocNumber")
        if len(number) > DOC_NUMBER_MAX:
            raise string_too_long("DocNumber", DOC_NUMBER_MAX, len(number))
        if entity not in SALES_FORMS:
            if number and entity in self.duplicate_doc_number_entities:
                self._refuse_duplicate_number(entity, number, existing)
            return number
        custom = self.pref("SalesFormsPrefs", "CustomTxnNumbers", True)
        if not number and not custom:
            if existing is not None and existing.get("DocNumber"):
                return existing["DocNumber"]
            number = str(self._next_doc_number)
            self._next_doc_number += 1
            return number
        if number and custom and self.reject_duplicate_doc_numbers:
            self._refuse_duplicate_number(entity, number, existing)
        return number

    def _refuse_duplicate_number(
        self, entity: str, number: str, existing: dict[str, Any] | None
    ) -> None:
        own = existing["Id"] if existing else None
        for record in self.by_doc_number(entity, number):
            if record["Id"] != own:
                raise duplicate_doc_number(
                    number,
                    _TXN_LABEL.get(entity, entity),
                    record["Id"],
                    self.duplicate_doc_number_code,
                )

    def _amount(self, raw: Any, element: str, *, required: bool = True) -> Decimal:
        value = to_decimal(raw, element)
        if value is None:
            if required:
                raise required_param(element)
            return ZERO
        return money(value)

    def _qty_price_amount(
        self, detail: dict[str, Any], line: dict[str, Any], element: str
    ) -> tuple[Decimal | None, Decimal | None, Decimal]:
        qty = to_decimal(detail.get("Qty"), f"{element}.Qty")
        price = to_decimal(detail.get("UnitPrice"), f"{element}.UnitPrice")
        amount = to_decimal(line.get("Amount"), "Line.Amount")
        if qty is not None and price is not None and qty == 0 and price == 0:
            # python-quickbooks sends 0/0 for "not set"; the amount carries the line.
            qty = price = None
        if amount is None:
            if qty is None or price is None:
                raise required_param("Line.Amount")
            amount = qty * price
        if qty is not None and price is not None and qty != 0 and price != 0:
            expected = money(qty * price)
            if money(amount) != expected:
                raise business_error(
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                    code=6070,
                    element="Line.Amount",
                )
        if qty is not None and price is None and qty != 0:
            price = amount / qty
        return qty, price, money(amount)

    def _tax_detail(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, Decimal]:
        raw = body.get("TxnTaxDetail")
        if not isinstance(raw, dict):
            return None, ZERO
        lines = [line for line in raw.get("TaxLine", []) if isinstance(line, dict)]
        total = to_decimal(raw.get("TotalTax"), "TxnTaxDetail.TotalTax")
        if total is None:
            total = sum(
                (to_decimal(line.get("Amount"), "TaxLine.Amount") or ZERO for line in lines), ZERO
            )
        total = money(total)
        if total < 0:
            raise business_error("The tax amount can not be negative.")
        detail: dict[str, Any] = {"TotalTax": total}
        if raw.get("TxnTaxCodeRef"):
            detail["TxnTaxCodeRef"] = {"value": _ref_value(raw["TxnTaxCodeRef"])}
        if lines:
            detail["TaxLine"] = lines
        return detail, total

    # -- sales forms ----------------------------------------------------------------------------

    def _sales_form(
        self, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        record = self._txn_common(entity, body, existing)
        raw_lines = body.get("Line")
        if not isinstance(raw_lines, list) or not any(
            isinstance(x, dict) and x.get("DetailType") != "SubTotalLineDetail" for x in raw_lines
        ):
            raise required_param("Line")
        customer = self.ref(
            "Customer", body.get("CustomerRef"), "CustomerRef", required=entity == "Invoice"
        )
        if customer is not None:
            record["CustomerRef"] = customer
        allow_shipping = self.pref("SalesFormsPrefs", "AllowShipping", True)
        items: list[dict[str, Any]] = []
        discounts: list[tuple[dict[str, Any], dict[str, Any]]] = []
        shipping: list[dict[str, Any]] = []
        subtotal = taxable = ZERO
        sales_tax.check_txn_code(body.get("TxnTaxDetail"))
        for raw in raw_lines:
            if not isinstance(raw, dict):
                raise bad_request_body("Line")
            kind = raw.get("DetailType")
            if not kind:
                raise required_param("Line.DetailType")
            if kind == "SubTotalLineDetail":
                continue
            if kind == "DescriptionOnly":
                items.append(
                    {
                        "Description": raw.get("Description", ""),
                        "DetailType": "DescriptionOnly",
                        "DescriptionLineDetail": raw.get("DescriptionLineDetail", {}),
                        "Amount": ZERO,
                    }
                )
                continue
            if kind == "DiscountLineDetail":
                discounts.append((raw, raw.get("DiscountLineDetail") or {}))
                continue
            if kind != "SalesItemLineDetail":
                raise bad_request_body(f"Line.DetailType={kind}")
            detail = raw.get("SalesItemLineDetail") or {}
            item_id = _ref_value(detail.get("ItemRef"))
            qty, price, amount = self._qty_price_amount(detail, raw, "SalesItemLineDetail")
            out_detail: dict[str, Any] = {}
            if item_id == SHIPPING_ITEM_ID:
                if not allow_shipping:
                    raise business_error(
                        "Shipping is not enabled for this company; use a shipping item instead.",
                        element="Line.SalesItemLineDetail.ItemRef",
                    )
                out_detail["ItemRef"] = {"value": SHIPPING_ITEM_ID}
            else:
                item_ref = self.ref(
                    "Item",
                    detail.get("ItemRef") or {"value": seed.DEFAULT_ITEM_ID},
                    "Line.SalesItemLineDetail.ItemRef",
                )
                assert item_ref is not None
                out_detail["ItemRef"] = item_ref
                income = self.records["Item"][item_ref["value"]].get("IncomeAccountRef")
                if income:
                    out_detail["ItemAccountRef"] = dict(income)
            if qty is not None:
                out_detail["Qty"] = qty
            if price is not None:
                out_detail["UnitPrice"] = price
            if detail.get("TaxCodeRef"):
                out_detail["TaxCodeRef"] = self.ref(
                    "TaxCode", detail["TaxCodeRef"], "Line.SalesItemLineDetail.TaxCodeRef"
                )
            if detail.get("ClassRef"):
                out_detail["ClassRef"] = detail["ClassRef"]
            if detail.get("ServiceDate"):
                out_detail["ServiceDate"] = detail["ServiceDate"]
            line = {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": out_detail,
            }
            if raw.get("Description"):
                line["Description"] = raw["Description"]
            if item_id == SHIPPING_ITEM_ID:
                shipping.append(line)
            else:
                items.append(line)
                subtotal += amount
                if sales_tax.line_taxable(self, out_detail, out_detail["ItemRef"]["value"]):
                    taxable += amount
        discount_lines = []
        discount_total = ZERO
        for raw, detail in discounts:
            percent_based = _bool(detail.get("PercentBased"), False)
            percent = to_decimal(detail.get("DiscountPercent"), "DiscountPercent")
            if percent_based and percent:
                amount = money(subtotal * percent / Decimal(100))
            else:
                amount = self._amount(raw.get("Amount"), "Line.Amount")
            if amount < 0:
                raise business_error("A discount can not be negative.", element="Line.Amount")
            account = self.ref(
                "Account",
                detail.get("DiscountAccountRef")
                or {"value": self.pref("SalesFormsPrefs", "DefaultDiscountAccount", "86")},
                "Line.DiscountLineDetail.DiscountAccountRef",
            )
            out_detail = {"PercentBased": percent_based, "DiscountAccountRef": account}
            if percent_based and percent:
                out_detail["DiscountPercent"] = percent
            line = {"Amount": amount, "DetailType": "DiscountLineDetail"}
            line["DiscountLineDetail"] = out_detail
            if raw.get("Description"):
                line["Description"] = raw["Description"]
            discount_lines.append(line)
            discount_total += amount
        shipping_total = sum((line["Amount"] for line in shipping), ZERO)
        tax_detail, tax = self._tax_detail(body)
        computed = sales_tax.automated_tax(self, body, taxable, subtotal, discount_total)
        if computed is not None:
            tax_detail, tax = computed, computed["TotalTax"]
        inclusive = _text(body, "GlobalTaxCalculation") == "TaxInclusive"
        total = subtotal - discount_total + shipping_total + (ZERO if inclusive else tax)
        if total < 0:
            raise business_error("Transaction amount must be 0 or greater.")
        lines: list[dict[str, Any]] = []
        number = 0
        for line in items:
            number += 1
            lines.append({"Id": str(number), "LineNum": number, **line})
        lines.append(
            {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        for line in discount_lines + shipping:
            number += 1
            lines.append({"Id": str(number), "LineNum": number, **line})
        record["Line"] = lines
        if tax_detail is not None:
            record["TxnTaxDetail"] = tax_detail
        else:
            record["TxnTaxDetail"] = {"TotalTax": ZERO}
        record["TotalAmt"] = money(total)
        record.setdefault("GlobalTaxCalculation", "TaxExcluded")
        if body.get("PaymentMethodRef"):
            record["PaymentMethodRef"] = self.ref(
                "PaymentMethod", body["PaymentMethodRef"], "PaymentMethodRef"
            )
        for key in ("BillAddr", "ShipAddr", "BillEmail", "CustomerMemo", "ClassRef"):
            if key in body:
                record[key] = body[key]
        return record

    def _build_salesreceipt(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._sales_form("SalesReceipt", body, existing)
        record["DepositToAccountRef"] = self.ref(
            "Account",
            body.get("DepositToAccountRef") or {"value": seed.UNDEPOSITED_FUNDS_ID},
            "DepositToAccountRef",
        )
        account_types.check_deposit_account(self, record["DepositToAccountRef"])
        record["Balance"] = ZERO
        return record

    def _build_invoice(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._sales_form("Invoice", body, existing)
        due = _text(body, "DueDate") or record["TxnDate"]
        try:
            date.fromisoformat(due)
        except ValueError:
            raise invalid_date("DueDate", due) from None
        record["DueDate"] = due
        record["Balance"] = record["TotalAmt"]
        record["LinkedTxn"] = []
        return record

    # -- payments -------------------------------------------------------------------------------

    def _build_payment(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._txn_common("Payment", body, existing)
        customer = self.ref("Customer", body.get("CustomerRef"), "CustomerRef", required=True)
        assert customer is not None
        record["CustomerRef"] = customer
        total, lines, applied = self._payment_lines(
            body, existing, "Payment", party_field="CustomerRef", party=customer
        )
        record["Line"] = lines
        record["TotalAmt"] = total
        record["UnappliedAmt"] = money(total - applied)
        record["DepositToAccountRef"] = self.ref(
            "Account",
            body.get("DepositToAccountRef") or {"value": seed.UNDEPOSITED_FUNDS_ID},
            "DepositToAccountRef",
        )
        account_types.check_deposit_account(self, record["DepositToAccountRef"])
        if body.get("PaymentMethodRef"):
            record["PaymentMethodRef"] = self.ref(
                "PaymentMethod", body["PaymentMethodRef"], "PaymentMethodRef"
            )
        ref_num = _text(body, "PaymentRefNum")
        if len(ref_num) > DOC_NUMBER_MAX:
            raise string_too_long("PaymentRefNum", DOC_NUMBER_MAX, len(ref_num))
        record["ProcessPayment"] = False
        return record

    def _payment_lines(
        self,
        body: dict[str, Any],
        existing: dict[str, Any] | None,
        entity: str,
        *,
        party_field: str,
        party: dict[str, Any],
    ) -> tuple[Decimal, list[dict[str, Any]], Decimal]:
        """(total, lines, amount applied) of a Payment or a BillPayment: each line paying
        open transactions (invoices / bills) of the same customer / vendor, within their
        open balance (what this payment applied before counts as open again)."""
        paid_entity, link_type, _label = _PAYS[entity]
        noun = "Payment" if entity == "Payment" else "Bill payment"
        party_noun = "customer" if party_field == "CustomerRef" else "vendor"
        total = to_decimal(body.get("TotalAmt"), "TotalAmt")
        if total is None:
            raise required_param("TotalAmt")
        total = money(total)
        if total < 0:
            raise business_error(f"{noun} amount can not be negative.", element="TotalAmt")
        previous = self._applications(existing, entity) if existing is not None else {}
        lines = []
        applied = ZERO
        for raw in body.get("Line", []) or []:
            if not isinstance(raw, dict):
                raise bad_request_body("Line")
            amount = self._amount(raw.get("Amount"), "Line.Amount")
            linked = [t for t in raw.get("LinkedTxn", []) if isinstance(t, dict)]
            if not linked:
                raise required_param("Line.LinkedTxn")
            out_links = []
            for link in linked:
                txn_type = _text(link, "TxnType")
                txn_id = _id_of(link.get("TxnId"))
                if txn_type != link_type:
                    raise invalid_enum("Line.LinkedTxn.TxnType", txn_type)
                paid = self.records[paid_entity].get(txn_id)
                if paid is None:
                    raise invalid_reference("Line.LinkedTxn.TxnId", txn_id)
                if paid[party_field]["value"] != party["value"]:
                    raise business_error(
                        f"{paid_entity} {txn_id} belongs to another {party_noun}.",
                        element="Line.LinkedTxn",
                    )
                open_balance = paid["Balance"] + previous.get(txn_id, ZERO)
                if amount > open_balance:
                    raise business_error(
                        f"The payment amount {amount} is more than the open balance "
                        f"{open_balance} of {paid_entity.lower()} {txn_id}.",
                        element="Line.Amount",
                    )
                out_links.append({"TxnId": txn_id, "TxnType": link_type})
            lines.append({"Amount": amount, "LinkedTxn": out_links})
            applied += amount
        if applied > total:
            raise business_error(
                f"The amounts applied ({applied}) are more than the payment total ({total}).",
                element="TotalAmt",
            )
        return total, lines, applied

    def _applications(
        self, payment: dict[str, Any] | None, entity: str = "Payment"
    ) -> dict[str, Decimal]:
        """What ``payment`` (a Payment or a BillPayment) applies, by paid transaction id."""
        link_type = _PAYS[entity][1]
        out: dict[str, Decimal] = {}
        for line in (payment or {}).get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == link_type:
                    out[link["TxnId"]] = out.get(link["TxnId"], ZERO) + line["Amount"]
        return out

    def _applied_to(self, paid_entity: str, txn_id: str) -> Decimal:
        entity = next(e for e, (target, _l, _b) in _PAYS.items() if target == paid_entity)
        return sum(
            (
                self._applications(p, entity).get(txn_id, ZERO)
                for p in self.records[entity].values()
            ),
            ZERO,
        )

    def _applied_to_invoice(self, invoice_id: str) -> Decimal:
        return self._applied_to("Invoice", invoice_id)

    def _apply_payment(self, payment: dict[str, Any], entity: str = "Payment") -> None:
        target, _link_type, back_type = _PAYS[entity]
        for txn_id, amount in self._applications(payment, entity).items():
            paid = self.records[target][txn_id]
            paid["Balance"] = money(paid["Balance"] - amount)
            links = [
                link for link in paid.get("LinkedTxn", []) if link.get("TxnId") != payment["Id"]
            ]
            links.append({"TxnId": payment["Id"], "TxnType": back_type})
            paid["LinkedTxn"] = links
            self._touch(paid)

    def _unapply_payment(self, payment: dict[str, Any], entity: str = "Payment") -> None:
        target = _PAYS[entity][0]
        for txn_id, amount in self._applications(payment, entity).items():
            paid = self.records[target].get(txn_id)
            if paid is None:
                continue
            paid["Balance"] = money(paid["Balance"] + amount)
            paid["LinkedTxn"] = [
                link for link in paid.get("LinkedTxn", []) if link.get("TxnId") != payment["Id"]
            ]
            self._touch(paid)

    def _build_billpayment(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        """A payment of one or more bills of one vendor, by check or credit card."""
        record = self._txn_common("BillPayment", body, existing)
        vendor = self.ref("Vendor", body.get("VendorRef"), "VendorRef", required=True)
        assert vendor is not None
        record["VendorRef"] = vendor
        pay_type = _text(body, "PayType")
        if not pay_type:
            raise required_param("PayType")
        if pay_type not in ("Check", "CreditCard"):
            raise invalid_enum("PayType", pay_type)
        record["PayType"] = pay_type
        if pay_type == "Check":
            detail = body.get("CheckPayment") or {}
            record["CheckPayment"] = {
                "BankAccountRef": self.ref(
                    "Account",
                    detail.get("BankAccountRef"),
                    "CheckPayment.BankAccountRef",
                    required=True,
                ),
                "PrintStatus": detail.get("PrintStatus") or "NotSet",
            }
            record.pop("CreditCardPayment", None)
        else:
            detail = body.get("CreditCardPayment") or {}
            record["CreditCardPayment"] = {
                "CCAccountRef": self.ref(
                    "Account",
                    detail.get("CCAccountRef"),
                    "CreditCardPayment.CCAccountRef",
                    required=True,
                )
            }
            record.pop("CheckPayment", None)
        record["APAccountRef"] = self.ref(
            "Account",
            body.get("APAccountRef") or {"value": seed.ACCOUNTS_PAYABLE_ID},
            "APAccountRef",
        )
        total, lines, applied = self._payment_lines(
            body, existing, "BillPayment", party_field="VendorRef", party=vendor
        )
        record["Line"] = lines
        record["TotalAmt"] = total
        # Paid beyond the bills: a credit with the vendor.
        record["UnappliedAmt"] = money(total - applied)
        return record

    # -- expenses -------------------------------------------------------------------------------

    def _expense_lines(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal]:
        raw_lines = body.get("Line")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise required_param("Line")
        lines = []
        total = ZERO
        for number, raw in enumerate(raw_lines, start=1):
            if not isinstance(raw, dict):
                raise bad_request_body("Line")
            kind = raw.get("DetailType")
            if not kind:
                raise required_param("Line.DetailType")
            if kind == "AccountBasedExpenseLineDetail":
                detail = raw.get("AccountBasedExpenseLineDetail") or {}
                amount = self._amount(raw.get("Amount"), "Line.Amount")
                out: dict[str, Any] = {
                    "AccountRef": self.ref(
                        "Account",
                        detail.get("AccountRef"),
                        "Line.AccountBasedExpenseLineDetail.AccountRef",
                        required=True,
                    ),
                    "BillableStatus": detail.get("BillableStatus") or "NotBillable",
                    "TaxCodeRef": self.ref(
                        "TaxCode", detail.get("TaxCodeRef") or {"value": "NON"}, "TaxCodeRef"
                    ),
                }
                if detail.get("CustomerRef"):
                    out["CustomerRef"] = self.ref(
                        "Customer", detail["CustomerRef"], "Line.CustomerRef"
                    )
                if detail.get("ClassRef"):
                    out["ClassRef"] = detail["ClassRef"]
            elif kind == "ItemBasedExpenseLineDetail":
                detail = raw.get("ItemBasedExpenseLineDetail") or {}
                qty, price, amount = self._qty_price_amount(
                    detail, raw, "ItemBasedExpenseLineDetail"
                )
                out = {
                    "ItemRef": self.ref(
                        "Item",
                        detail.get("ItemRef"),
                        "Line.ItemBasedExpenseLineDetail.ItemRef",
                        required=True,
                    ),
                    "BillableStatus": detail.get("BillableStatus") or "NotBillable",
                    "TaxCodeRef": self.ref(
                        "TaxCode", detail.get("TaxCodeRef") or {"value": "NON"}, "TaxCodeRef"
                    ),
                }
                if qty is not None:
                    out["Qty"] = qty
                if price is not None:
                    out["UnitPrice"] = price
            else:
                raise bad_request_body(f"Line.DetailType={kind}")
            line: dict[str, Any] = {"Id": str(number), "Amount": amount, "DetailType": kind}
            if raw.get("Description"):
                line["Description"] = raw["Description"]
            line[kind] = out
            lines.append(line)
            total += amount
        return lines, total

    def _build_purchase(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._txn_common("Purchase", body, existing)
        payment_type = _text(body, "PaymentType")
        if not payment_type:
            raise required_param("PaymentType")
        if payment_type not in ("Cash", "Check", "CreditCard"):
            raise invalid_enum("PaymentType", payment_type)
        record["PaymentType"] = payment_type
        record["AccountRef"] = self.ref(
            "Account", body.get("AccountRef"), "AccountRef", required=True
        )
        entity_ref = self._entity_ref(body.get("EntityRef"), "EntityRef")
        if entity_ref is not None:
            record["EntityRef"] = entity_ref
        else:
            record.pop("EntityRef", None)
        if body.get("PaymentMethodRef"):
            record["PaymentMethodRef"] = self.ref(
                "PaymentMethod", body["PaymentMethodRef"], "PaymentMethodRef"
            )
        lines, subtotal = self._expense_lines(body)
        tax_detail, tax = self._tax_detail(body)
        inclusive = _text(body, "GlobalTaxCalculation") == "TaxInclusive"
        record["Line"] = lines
        if tax_detail is not None:
            record["TxnTaxDetail"] = tax_detail
        record["TotalAmt"] = money(subtotal + (ZERO if inclusive else tax))
        record["Credit"] = _bool(body.get("Credit"), False)
        record.setdefault("PrintStatus", "NotSet")
        return record

    def _build_bill(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._txn_common("Bill", body, existing)
        record["VendorRef"] = self.ref("Vendor", body.get("VendorRef"), "VendorRef", required=True)
        record["APAccountRef"] = self.ref(
            "Account",
            body.get("APAccountRef") or {"value": seed.ACCOUNTS_PAYABLE_ID},
            "APAccountRef",
        )
        lines, subtotal = self._expense_lines(body)
        tax_detail, tax = self._tax_detail(body)
        record["Line"] = lines
        if tax_detail is not None:
            record["TxnTaxDetail"] = tax_detail
        record["TotalAmt"] = money(subtotal + tax)
        record["Balance"] = record["TotalAmt"]
        record["LinkedTxn"] = []
        due = _text(body, "DueDate") or record["TxnDate"]
        try:
            date.fromisoformat(due)
        except ValueError:
            raise invalid_date("DueDate", due) from None
        record["DueDate"] = due
        return record

    # -- journal entries ------------------------------------------------------------------------

    def _build_journalentry(self, body: dict[str, Any], existing: dict[str, Any] | None) -> Any:
        record = self._txn_common("JournalEntry", body, existing)
        raw_lines = body.get("Line")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise required_param("Line")
        debits = credits = ZERO
        lines = []
        for number, raw in enumerate(raw_lines, start=1):
            if not isinstance(raw, dict):
                raise bad_request_body("Line")
            kind = raw.get("DetailType")
            if kind == "DescriptionOnly":
                lines.append({"Id": str(number), **raw, "Amount": ZERO})
                continue
            if kind != "JournalEntryLineDetail":
                if not kind:
                    raise required_param("Line.DetailType")
                raise bad_request_body(f"Line.DetailType={kind}")
            detail = raw.get("JournalEntryLineDetail") or {}
            posting = _text(detail, "PostingType")
            if not posting:
                raise required_param("Line.JournalEntryLineDetail.PostingType")
            if posting not in ("Debit", "Credit"):
                raise invalid_enum("Line.JournalEntryLineDetail.PostingType", posting)
            amount = self._amount(raw.get("Amount"), "Line.Amount")
            if amount < 0:
                raise business_error(
                    "Journal entry line amounts can not be negative; use the other posting type.",
                    element="Line.Amount",
                )
            account = self.ref(
                "Account",
                detail.get("AccountRef"),
                "Line.JournalEntryLineDetail.AccountRef",
                required=True,
            )
            assert account is not None
            out: dict[str, Any] = {"PostingType": posting, "AccountRef": account}
            entity = detail.get("Entity")
            account_type = self.records["Account"][account["value"]]["AccountType"]
            entity_type = entity.get("Type") if isinstance(entity, dict) else None
            if isinstance(entity, dict) and entity.get("EntityRef"):
                kind_name = entity_type if entity_type in ("Customer", "Vendor") else "Customer"
                entity_ref = self.ref(kind_name, entity["EntityRef"], "Line.Entity.EntityRef")
                out["Entity"] = {"Type": kind_name, "EntityRef": entity_ref}
            if account_type == "Accounts Receivable" and out.get("Entity", {}).get("Type") != (
                "Customer"
            ):
                raise business_error(
                    "You must select a customer in the Name field for a journal entry line that "
                    "uses Accounts Receivable."
                )
            if account_type == "Accounts Payable" and out.get("Entity", {}).get("Type") != (
                "Vendor"
            ):
                raise business_error(
                    "You must select a vendor in the Name field for a journal entry line that "
                    "uses Accounts Payable."
                )
            if detail.get("ClassRef"):
                out["ClassRef"] = detail["ClassRef"]
            line: dict[str, Any] = {"Id": str(number), "Amount": amount, "DetailType": kind}
            if raw.get("Description"):
                line["Description"] = raw["Description"]
            line["JournalEntryLineDetail"] = out
            lines.append(line)
            if posting == "Debit":
                debits += amount
            else:
                credits += amount
        if debits != credits:
            raise business_error(
                f"Transaction must be balanced: debits {debits} do not equal credits {credits}.",
                element="Line",
            )
        record["Line"] = lines
        record["Adjustment"] = _bool(body.get("Adjustment"), False)
        record["TotalAmt"] = money(debits)
        return record


_TXN_LABEL = {
    "SalesReceipt": "Sales Receipt",
    "Invoice": "Invoice",
    "JournalEntry": "Journal Entry",
    "Purchase": "Expense",
}
