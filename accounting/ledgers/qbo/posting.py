"""Posting our documents as QBO transactions: sales receipts, invoices with their payment,
expenses, bills and journal entries, one request each with the idempotency key as
``requestid``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from quickbooks import exceptions as qbe

from accounting.ledgers.base import (
    ZERO,
    DocumentKind,
    ExpenseDocument,
    ExternalRef,
    PostingResult,
    PostingSide,
    ResultStatus,
    SaleDocument,
    SummaryDocument,
    memo_marker,
)
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import tax as qbo_tax
from accounting.ledgers.qbo.client import QboClient
from accounting.ledgers.qbo.entities import ENTITY_FOR_KIND, _ref
from accounting.ledgers.qbo.lookups import QboLookups
from unify.core.stored_text import gettext as _


class QboPosting(QboLookups):
    def _sale_body(self, client: QboClient, doc: SaleDocument, resolved: dict[str, str]) -> dict:
        lines: list[dict[str, Any]] = []

        def item_line(item_id: str, description: str, qty, price, amount, tax_code="") -> None:
            detail: dict[str, Any] = {"ItemRef": _ref(item_id), "Qty": qty, "UnitPrice": price}
            if tax_code:
                detail["TaxCodeRef"] = _ref(tax_code)
            lines.append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "Description": description[:4000],
                    "SalesItemLineDetail": detail,
                }
            )

        # Every line carries TAX or NON: QuickBooks' automated sales tax would otherwise tax
        # it by its item (accounting/ledgers/qbo/tax.py).
        sold_code, other_code = qbo_tax.item_line_code(doc), qbo_tax.NOT_TAXABLE
        for line in doc.lines:
            item_id = self._find_or_create_item(client, line.item, resolved, "NonInventory")
            item_line(
                item_id, line.description, line.quantity, line.unit_price, line.amount, sold_code
            )
        if doc.shipping is not None:
            item_id = self._find_or_create_item(client, doc.shipping.item, resolved, "Service")
            amount = doc.shipping.amount
            item_line(item_id, doc.shipping.description, Decimal(1), amount, amount, other_code)
        if doc.tax and doc.tax_account_id and doc.tax_item is not None:
            item_id = self._find_or_create_item(client, doc.tax_item, resolved, "Service")
            item_line(item_id, "Sales tax", Decimal(1), doc.tax, doc.tax, other_code)
        if doc.difference is not None and doc.difference.item is not None:
            item_id = self._find_or_create_item(client, doc.difference.item, resolved, "Service")
            amount = doc.difference.amount
            item_line(item_id, doc.difference.description, Decimal(1), amount, amount, other_code)
        if doc.discounts:
            # QBO takes one discount line per transaction: the discounts are summed, their
            # names kept in the description.
            lines.append(
                {
                    "DetailType": "DiscountLineDetail",
                    "Amount": doc.discounts_total,
                    "Description": ", ".join(d.description for d in doc.discounts)[:4000],
                    "DiscountLineDetail": {
                        "PercentBased": False,
                        "DiscountAccountRef": _ref(doc.discounts[0].account_id),
                    },
                }
            )
        body: dict[str, Any] = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "CustomerRef": _ref(
                self._find_or_create_party(client, "Customer", doc.customer, resolved)
            ),
            "PrivateNote": doc.memo[:4000],
            "Line": lines,
        }
        if doc.currency:
            # QuickBooks refuses another currency than its home one without multicurrency
            # (held with the reason); with it, QuickBooks applies its own exchange rate.
            body["CurrencyRef"] = _ref(doc.currency)
        # The tax ShipStation reports, stated even when 0.00, so QuickBooks computes none.
        body["TxnTaxDetail"] = qbo_tax.txn_tax_detail(doc)
        ship_addr = qbo_tax.ship_addr(doc.ship_to)
        if ship_addr:
            body["ShipAddr"] = ship_addr
        return body

    def _result(
        self,
        kind: DocumentKind,
        data: dict[str, Any],
        resolved: dict[str, str],
        *,
        secondary_id: str = "",
        expected_total: Decimal | None = None,
    ) -> PostingResult:
        external_id = str(data.get("Id", ""))
        answer = {
            "Id": external_id,
            "DocNumber": data.get("DocNumber", ""),
            "SyncToken": data.get("SyncToken", ""),
            "TotalAmt": data.get("TotalAmt"),
            "TxnDate": data.get("TxnDate", ""),
        }
        if secondary_id:
            answer["PaymentId"] = secondary_id
        if expected_total is not None and data.get("TotalAmt") is not None:
            answer["TotalMatches"] = Decimal(str(data["TotalAmt"])) == expected_total
        return PostingResult(
            status=ResultStatus.POSTED,
            external_id=external_id,
            number=str(data.get("DocNumber", "")),
            revision=str(data.get("SyncToken", "")),
            deep_link=self.deep_link(kind=kind, external_id=external_id),
            answer=answer,
            resolved=dict(resolved),
            secondary_id=secondary_id,
        )

    def _create_document(
        self,
        client: QboClient,
        entity: str,
        body: dict[str, Any],
        doc_key: str,
        *,
        kind: DocumentKind,
        reference: str,
        marker: str,
    ) -> dict[str, Any]:
        try:
            return self._create(client, entity, body, doc_key)
        except qbe.QuickbooksException as exc:
            if qbo_faults.is_duplicate_doc_number(qbo_faults.fault_code(exc)):
                # Ours after all (the first answer was lost and the replay window passed), or
                # someone else's document with our number.
                found = self._find(client, kind, reference, marker)
                if found is not None:
                    return found
            raise self._rejected(exc, f"{entity} {reference}") from None

    def _create_payment(
        self, client: QboClient, doc: SaleDocument, invoice: dict[str, Any], customer_id: str
    ) -> str:
        payment = doc.payment
        body: dict[str, Any] = {
            "CustomerRef": _ref(customer_id),
            "TotalAmt": payment.amount,
            "TxnDate": payment.paid_on.isoformat(),
            "DepositToAccountRef": _ref(payment.deposit_account_id),
            "PaymentRefNum": payment.reference[:21],
            "CurrencyRef": _ref(doc.currency or "USD"),
            "PrivateNote": doc.memo[:4000],
            "Line": [
                {
                    "Amount": payment.amount,
                    "LinkedTxn": [{"TxnId": str(invoice["Id"]), "TxnType": "Invoice"}],
                }
            ],
        }
        if payment.payment_method_id:
            body["PaymentMethodRef"] = _ref(payment.payment_method_id)
        try:
            data = self._create(client, "Payment", body, f"{doc.idempotency_key}-p")
        except qbe.QuickbooksException as exc:
            raise self._rejected(
                exc, _("the payment for %(reference)s") % {"reference": doc.reference}
            ) from None
        return str(data["Id"])

    def post_sale(self, doc: SaleDocument) -> PostingResult:
        resolved: dict[str, str] = {}

        def run(client: QboClient) -> PostingResult:
            body = self._sale_body(client, doc, resolved)
            entity = ENTITY_FOR_KIND[doc.kind]
            if doc.kind == DocumentKind.SALES_RECEIPT:
                body["DepositToAccountRef"] = _ref(doc.payment.deposit_account_id)
                if doc.payment.payment_method_id:
                    body["PaymentMethodRef"] = _ref(doc.payment.payment_method_id)
            data = self._create_document(
                client,
                entity,
                body,
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            payment_id = ""
            if doc.kind == DocumentKind.INVOICE_PAYMENT:
                payment_id = self._settle_invoice(client, doc, data, body["CustomerRef"]["value"])
            return self._result(
                doc.kind, data, resolved, secondary_id=payment_id, expected_total=doc.total
            )

        return self.call(run)

    def post_many(self, docs, *, send_by: float | None = None) -> list:
        """Up to ``QBO_BATCH_SIZE`` documents per request (see ``qbo/batch.py``)."""
        from accounting.ledgers.qbo.batch import post_many

        return post_many(self, docs, send_by)

    def next_claim_size(self, usual: int) -> int:
        """A full batch while the batch lane has a grant free, a few documents for the single
        lane while it has none (see ``qbo/batch.py``)."""
        from accounting.ledgers.qbo.batch import next_claim_size

        return next_claim_size(self, usual)

    def _settle_invoice(
        self, client: QboClient, doc: SaleDocument, invoice: dict[str, Any], customer_id: str
    ) -> str:
        balance = Decimal(str(invoice.get("Balance", invoice.get("TotalAmt", "0"))))
        if doc.payment.amount <= ZERO or balance <= ZERO:
            return ""
        return self._create_payment(client, doc, invoice, customer_id)

    def complete(self, doc, found: ExternalRef) -> PostingResult:
        """A document found after an unknown outcome: an invoice may still lack its payment."""
        if not isinstance(doc, SaleDocument) or doc.kind != DocumentKind.INVOICE_PAYMENT:
            return super().complete(doc, found)

        def run(client: QboClient) -> PostingResult:
            invoice = client.get_single_object("Invoice", found.external_id)["Invoice"]
            customer_id = str(invoice.get("CustomerRef", {}).get("value", ""))
            payment_id = self._settle_invoice(client, doc, invoice, customer_id)
            return self._result(doc.kind, invoice, {}, secondary_id=payment_id)

        return self.call(run)

    def _expense_body(
        self, client: QboClient, doc: ExpenseDocument, resolved: dict[str, str]
    ) -> dict[str, Any]:
        vendor_id = self._find_or_create_party(client, "Vendor", doc.vendor, resolved)
        lines = [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": line.amount,
                "Description": line.description[:4000],
                "AccountBasedExpenseLineDetail": {"AccountRef": _ref(line.account_id)},
            }
            for line in doc.lines
        ]
        body: dict[str, Any] = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "PrivateNote": doc.memo[:4000],
            "Line": lines,
        }
        if doc.kind == DocumentKind.BILL:
            body["VendorRef"] = _ref(vendor_id)
        else:
            account_type = doc.payment_account_type.replace(" ", "").lower()
            body["PaymentType"] = "CreditCard" if account_type == "creditcard" else "Cash"
            body["AccountRef"] = _ref(doc.payment_account_id)
            body["EntityRef"] = {"value": vendor_id, "type": "Vendor"}
        return body

    def post_expense(self, doc: ExpenseDocument) -> PostingResult:
        resolved: dict[str, str] = {}

        def run(client: QboClient) -> PostingResult:
            body = self._expense_body(client, doc, resolved)
            data = self._create_document(
                client,
                ENTITY_FOR_KIND[doc.kind],
                body,
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            return self._result(doc.kind, data, resolved, expected_total=doc.total)

        return self.call(run)

    def _summary_body(self, doc: SummaryDocument) -> dict[str, Any]:
        body = {
            "DocNumber": doc.reference,
            "TxnDate": doc.issued_on.isoformat(),
            "PrivateNote": doc.memo[:4000],
            "Line": [
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": line.amount,
                    "Description": line.description[:4000],
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit" if line.side == PostingSide.DEBIT else "Credit",
                        "AccountRef": _ref(line.account_id),
                    },
                }
                for line in doc.lines
            ],
        }
        if doc.currency:
            # A day's summary is in its orders' currency, never mixed (as sales are).
            body["CurrencyRef"] = _ref(doc.currency)
        return body

    def post_summary(self, doc: SummaryDocument) -> PostingResult:
        def run(client: QboClient) -> PostingResult:
            data = self._create_document(
                client,
                "JournalEntry",
                self._summary_body(doc),
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(doc.memo),
            )
            return self._result(doc.kind, data, {})

        return self.call(run)
