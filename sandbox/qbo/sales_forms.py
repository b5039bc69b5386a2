"""QBO's sales forms (sales receipts and invoices): lines, discounts, shipping, tax, totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.qbo import account_types, sales_tax, seed
from sandbox.qbo.entities import SHIPPING_ITEM_ID, ZERO, _bool, _ref_value, _text, money
from sandbox.qbo.wire import (
    bad_request_body,
    business_error,
    invalid_date,
    required_param,
    to_decimal,
)


class SalesFormRules:
    """Builds sales receipts and invoices for :class:`~sandbox.qbo.company.Company`."""

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
