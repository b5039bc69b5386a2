"""What every QBO transaction shares (date, closed books, DocNumber, amounts, tax detail),
and journal entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.qbo import closed_books, currency
from sandbox.qbo.entities import (
    _TXN_LABEL,
    DOC_NUMBER_MAX,
    SALES_FORMS,
    ZERO,
    _bool,
    _ref_value,
    _text,
    money,
)
from sandbox.qbo.wire import (
    bad_request_body,
    business_error,
    duplicate_doc_number,
    invalid_date,
    invalid_enum,
    required_param,
    string_too_long,
    to_decimal,
    today_pacific,
)


class TransactionRules:
    """Transaction rules of :class:`~sandbox.qbo.company.Company` used by every form."""

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
