"""QBO's expenses (``Purchase``) and bills: account and item lines, totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.qbo import seed
from sandbox.qbo.entities import ZERO, _bool, _text, money
from sandbox.qbo.wire import bad_request_body, invalid_date, invalid_enum, required_param


class ExpenseRules:
    """Builds purchases and bills for :class:`~sandbox.qbo.company.Company`."""

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
