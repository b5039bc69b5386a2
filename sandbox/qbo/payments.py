"""Payments against invoices and bill payments against bills: applications and balances."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo import account_types, seed
from sandbox.qbo.entities import _PAYS, DOC_NUMBER_MAX, ZERO, _id_of, _text, money
from sandbox.qbo.wire import (
    bad_request_body,
    business_error,
    invalid_enum,
    invalid_reference,
    required_param,
    string_too_long,
    to_decimal,
)


class PaymentRules:
    """Builds payments and bill payments for :class:`~sandbox.qbo.company.Company` and keeps the
    paid documents' balances."""

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
