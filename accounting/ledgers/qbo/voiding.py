"""QuickBooks Online: taking an invoice WE posted out of the books together with its payment.

QuickBooks refuses to delete an invoice that has payments applied ("Delete the payments
first"), so the payment Unify created with the invoice goes first, then the invoice. Only our
own payment is deleted: the one whose id was kept with the posting, else the single payment
linked to the invoice (a posting from before payment ids were kept). A payment already gone
(610) counts as deleted, so a retry after an unknown outcome finishes the job; a payment of
someone else's left on the invoice makes QuickBooks refuse the invoice's deletion, which the
engine reports without retrying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quickbooks import exceptions as qbe

from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo.client import QboClient, dumps

if TYPE_CHECKING:
    from accounting.ledgers.qbo.adapter import QboAdapter

OBJECT_NOT_FOUND = 610
_fault_code = qbo_faults.fault_code
_is_stale = qbo_faults.is_stale


def our_payment_ids(client: QboClient, invoice: dict[str, Any], remembered: str) -> list[str]:
    """The payment(s) of ours applied to ``invoice``."""
    if remembered:
        return [remembered]
    linked = [
        str(link.get("TxnId"))
        for link in invoice.get("LinkedTxn") or []
        if link.get("TxnType") == "Payment"
    ]
    return linked if len(linked) == 1 else []


def delete_payment(
    adapter: QboAdapter, client: QboClient, payment_id: str, request_id: str, what: str
) -> bool:
    """Delete one payment by id (its current SyncToken). False when it was already gone."""
    for attempt in (1, 2):
        try:
            current = client.get_single_object("Payment", payment_id)["Payment"]
        except qbe.QuickbooksException as exc:
            if _fault_code(exc) == OBJECT_NOT_FOUND:
                return False
            raise adapter._rejected(exc, what) from None
        body = {"Id": payment_id, "SyncToken": current["SyncToken"]}
        try:
            client.delete_object("Payment", dumps(body), request_id=request_id)
        except qbe.QuickbooksException as exc:
            code = _fault_code(exc)
            if code == OBJECT_NOT_FOUND:
                return False
            if _is_stale(exc) and attempt == 1:
                continue
            raise adapter._rejected(exc, what) from None
        return True
    raise AssertionError("unreachable")


def delete_invoice_payments(
    adapter: QboAdapter,
    client: QboClient,
    invoice_id: str,
    remembered_payment_id: str,
    idempotency_key: str,
) -> list[str]:
    """Delete our payment(s) of invoice ``invoice_id`` ahead of the invoice itself. Returns
    the ids deleted now. An invoice already gone leaves nothing to do (the caller sees 610)."""
    try:
        invoice = client.get_single_object("Invoice", invoice_id)["Invoice"]
    except qbe.QuickbooksException as exc:
        if _fault_code(exc) == OBJECT_NOT_FOUND:
            if remembered_payment_id:
                # The invoice went first (by hand): our payment may still be there.
                delete_payment(
                    adapter,
                    client,
                    remembered_payment_id,
                    f"{idempotency_key}-pd",
                    f"deletion of payment {remembered_payment_id}",
                )
            return []
        raise adapter._rejected(exc, f"invoice {invoice_id}") from None
    deleted = []
    for payment_id in our_payment_ids(client, invoice, remembered_payment_id):
        if delete_payment(
            adapter,
            client,
            payment_id,
            f"{idempotency_key}-pd",
            f"deletion of payment {payment_id}",
        ):
            deleted.append(payment_id)
    return deleted
