"""Changing posted QBO documents: sparse updates with the current SyncToken (an invoice's
payment follows it) and deletions by the stored id."""

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
    RemovalResult,
    SaleDocument,
)
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import voiding
from accounting.ledgers.qbo.client import QboClient, dumps
from accounting.ledgers.qbo.entities import _ENTITY_NAMES, ENTITY_FOR_KIND, OBJECT_NOT_FOUND, _ref
from accounting.ledgers.qbo.posting import QboPosting
from unify.core.exceptions import ProviderRejected, ProviderResponseInvalid
from unify.core.stored_text import gettext as _


class QboChanges(QboPosting):
    def _save_current(
        self,
        client: QboClient,
        entity: str,
        record_id: str,
        body: dict[str, Any],
        request_id: str,
        what: str,
    ) -> dict[str, Any]:
        """Update ``record_id`` with its current SyncToken (read again once if it went stale)."""
        for attempt in (1, 2):
            current = client.get_single_object(entity, record_id)[entity]
            body.update({"Id": record_id, "SyncToken": current["SyncToken"]})
            try:
                return client.update_object(entity, dumps(body), request_id=request_id)[entity]
            except qbe.QuickbooksException as exc:
                if not qbo_faults.is_stale(exc) or attempt == 2:
                    raise self._rejected(exc, what) from None
        raise AssertionError("unreachable")

    def _linked_payment(
        self, client: QboClient, invoice_id: str, payment_id: str
    ) -> dict[str, Any] | None:
        """The payment posted with an invoice: by its remembered id, else the one payment
        linked to the invoice (a posting from before payment ids were kept)."""
        if not payment_id:
            invoice = client.get_single_object("Invoice", invoice_id)["Invoice"]
            linked = [
                str(link.get("TxnId"))
                for link in invoice.get("LinkedTxn") or []
                if link.get("TxnType") == "Payment"
            ]
            if len(linked) != 1:
                return None
            payment_id = linked[0]
        try:
            return client.get_single_object("Payment", payment_id)["Payment"]
        except qbe.QuickbooksException as exc:
            if qbo_faults.fault_code(exc) == OBJECT_NOT_FOUND:
                return None  # deleted in QuickBooks: a new one is created
            raise self._rejected(exc, f"Payment {payment_id}") from None

    def _match_payment(
        self,
        client: QboClient,
        doc: SaleDocument,
        payment: dict[str, Any],
        invoice_id: str,
        customer_id: str,
        request_id: str,
    ) -> dict[str, Any]:
        """Sparse update of our payment to pay ``doc`` in full, unless it already does."""
        amount = doc.payment.amount
        lines = payment.get("Line") or []
        current_links = [
            (Decimal(str(line.get("Amount", "0"))), str(link.get("TxnId")), link.get("TxnType"))
            for line in lines
            for link in line.get("LinkedTxn") or []
        ]
        if (
            Decimal(str(payment.get("TotalAmt", "0"))) == amount
            and current_links == [(amount, invoice_id, "Invoice")]
            and str(payment.get("CustomerRef", {}).get("value", "")) == customer_id
        ):
            return payment
        body: dict[str, Any] = {
            "sparse": True,
            "CustomerRef": _ref(customer_id),
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        return self._save_current(
            client,
            "Payment",
            str(payment["Id"]),
            body,
            request_id,
            f"update of the payment for {doc.reference}",
        )

    def update(self, doc, existing: ExternalRef) -> PostingResult:
        """Replace a posted document by ``doc`` (sparse update with the current SyncToken). An
        invoice's payment follows it: updated to the new amount, or created if missing, so the
        invoice is neither left open nor overpaid."""
        doc.check()
        resolved: dict[str, str] = {}
        entity = ENTITY_FOR_KIND[doc.kind]
        with_payment = isinstance(doc, SaleDocument) and doc.kind == DocumentKind.INVOICE_PAYMENT

        def run(client: QboClient) -> PostingResult:
            if isinstance(doc, SaleDocument):
                body = self._sale_body(client, doc, resolved)
                if doc.kind == DocumentKind.SALES_RECEIPT:
                    body["DepositToAccountRef"] = _ref(doc.payment.deposit_account_id)
                    if doc.payment.payment_method_id:
                        body["PaymentMethodRef"] = _ref(doc.payment.payment_method_id)
            elif isinstance(doc, ExpenseDocument):
                body = self._expense_body(client, doc, resolved)
            else:
                body = self._summary_body(doc)
            # Sparse: what the merchant added in QuickBooks (a memo, a class) stays; every
            # field Unify owns is sent, the tax stated even when there is none now.
            body["sparse"] = True
            if isinstance(doc, SaleDocument):
                body.setdefault("TxnTaxDetail", {"TotalTax": ZERO})
            invoice_id = existing.external_id
            payment = None
            if with_payment:
                payment = self._linked_payment(client, invoice_id, existing.secondary_id)
                paid = Decimal(str(payment.get("TotalAmt", "0"))) if payment else ZERO
                if payment is not None and ZERO < doc.payment.amount < paid:
                    # A smaller total: QBO refuses an invoice below what is applied to it,
                    # so the payment comes down first.
                    payment = self._match_payment(
                        client,
                        doc,
                        payment,
                        invoice_id,
                        str(payment.get("CustomerRef", {}).get("value", "")),
                        f"{doc.idempotency_key}-p1",
                    )
            data = self._save_current(
                client,
                entity,
                invoice_id,
                body,
                doc.idempotency_key,
                f"update of {entity} {doc.reference}",
            )
            payment_id = ""
            if with_payment:
                customer_id = body["CustomerRef"]["value"]
                if payment is None:
                    payment_id = self._settle_invoice(client, doc, data, customer_id)
                elif doc.payment.amount > ZERO:
                    payment = self._match_payment(
                        client, doc, payment, invoice_id, customer_id, f"{doc.idempotency_key}-p"
                    )
                    payment_id = str(payment["Id"])
                else:
                    payment_id = str(payment["Id"])
                if payment_id:
                    # The invoice as the payment left it (its Balance, its SyncToken).
                    data = client.get_single_object(entity, invoice_id)[entity]
            return self._result(
                doc.kind, data, resolved, secondary_id=payment_id, expected_total=doc.total
            )

        return self.call(run)

    # -- removal ------------------------------------------------------------------------------

    def remove(
        self, kind: DocumentKind, existing: ExternalRef, *, idempotency_key: str = ""
    ) -> RemovalResult:
        """Delete our document ``existing`` by its stored id (``?operation=delete`` with its
        current SyncToken). Gone already (610 on the read or on the delete) counts as removed;
        a document renumbered since we posted it is left alone (it may no longer be ours)."""
        entity = ENTITY_FOR_KIND[kind]
        record_id = existing.external_id
        if not record_id:
            raise ValueError("remove() needs the ledger id of the posted document")
        what = _("the deletion of %(document)s") % {
            "document": f"{entity} {existing.number or record_id}"
        }

        def gone() -> RemovalResult:
            return RemovalResult(
                external_id=record_id,
                already_removed=True,
                answer={entity: {"Id": record_id, "status": "NotFound"}},
            )

        def run(client: QboClient) -> RemovalResult:
            payments: list[str] = []
            if kind == DocumentKind.INVOICE_PAYMENT:
                # QuickBooks deletes no invoice with payments applied: ours goes first.
                payments = voiding.delete_invoice_payments(
                    self, client, record_id, existing.secondary_id, idempotency_key
                )
            for attempt in (1, 2):
                try:
                    current = client.get_single_object(entity, record_id)[entity]
                except qbe.QuickbooksException as exc:
                    if qbo_faults.fault_code(exc) == OBJECT_NOT_FOUND:
                        return gone()
                    raise self._rejected(exc, what) from None
                number = str(current.get("DocNumber") or "")
                if existing.number and number and number != existing.number:
                    raise self._error(
                        ProviderRejected,
                        f"qbo {what}: DocNumber is now {number}",
                        user_message=_(
                            "QuickBooks' %(entity)s %(id)s is now numbered “%(number)s”, not "
                            "“%(posted)s” as posted; Unify leaves it alone."
                        )
                        % {
                            "entity": _ENTITY_NAMES.get(entity, entity),
                            "id": record_id,
                            "number": number,
                            "posted": existing.number,
                        },
                    )
                body = {"Id": record_id, "SyncToken": current["SyncToken"]}
                try:
                    answer = client.delete_object(
                        entity, dumps(body), request_id=idempotency_key or None
                    )
                except qbe.QuickbooksException as exc:
                    code = qbo_faults.fault_code(exc)
                    if code == OBJECT_NOT_FOUND:
                        return gone()
                    if qbo_faults.is_stale(exc) and attempt == 1:
                        continue  # edited meanwhile: read the new SyncToken once
                    raise self._rejected(exc, what) from None
                data = answer.get(entity) or {}
                if str(data.get("status", "")).lower() != "deleted":
                    raise self._error(
                        ProviderResponseInvalid, f"qbo {what}: no Deleted status in the answer"
                    )
                if payments:
                    answer = {**answer, "PaymentsDeleted": payments}
                return RemovalResult(external_id=record_id, answer=dict(answer))
            raise AssertionError("unreachable")

        return self.call(run)
