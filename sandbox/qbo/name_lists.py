"""QBO's rules for name-list writes: accounts, customers, vendors, items, payment methods."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo import account_types, sales_tax, seed
from sandbox.qbo.entities import ZERO, _bool, _text
from sandbox.qbo.wire import (
    duplicate_name,
    invalid_enum,
    required_param,
    string_too_long,
    to_decimal,
)


class NameListRules:
    """Builds name-list records for :class:`~sandbox.qbo.company.Company` (unique names,
    renamed on deactivation, account types)."""

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
