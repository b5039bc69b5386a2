"""qbXML transaction requests of the QuickBooks Desktop company: adds (with QuickBooks'
balance and reference checks), their ``*Ret`` and queries."""

from __future__ import annotations

import time
from decimal import Decimal
from xml.sax.saxutils import escape

from sandbox.qbwc.records import (
    Refused,
    Txn,
    _child,
    _d,
    _text,
)


class TransactionRequests:
    """Transaction part of :class:`~sandbox.qbwc.company.Company` (uses its lock, lists and
    ids)."""

    def _lines(self, body, tag: str) -> list:
        return [c for c in body if c.tag == tag]

    def _add_txn(self, kind: str, body) -> str:
        ref = _text(body, "RefNumber")
        if ref in self.refuse_refs:
            code, message = self.refuse_refs[ref]
            raise Refused(code, message)
        txn = Txn(
            txn_id="",
            kind=kind,
            ref_number=ref,
            txn_date=_text(body, "TxnDate") or time.strftime("%Y-%m-%d"),
            memo=_text(body, "Memo"),
            edit_sequence="",
            created="",
        )
        if kind in ("SalesReceipt", "Invoice"):
            txn.entity_id = self._ref(body, "CustomerRef", ("customer",), "Customer", kind).list_id
            if kind == "SalesReceipt":
                txn.account_id = self._ref(
                    body, "DepositToAccountRef", ("account",), "Account", kind
                ).list_id
            total = Decimal("0")
            for line in self._lines(body, f"{kind}LineAdd"):
                item = self._ref(line, "ItemRef", ("item",), "Item", kind)
                amount = _d(_text(line, "Amount"))
                total += amount
                txn.lines.append(
                    {"item": item.list_id, "desc": _text(line, "Desc"), "amount": str(amount),
                     "quantity": _text(line, "Quantity")}
                )  # fmt: skip
            txn.total = str(total)
        elif kind == "ReceivePayment":
            customer = self._ref(body, "CustomerRef", ("customer",), "Customer", kind)
            txn.entity_id = customer.list_id
            txn.account_id = self._ref(
                body, "DepositToAccountRef", ("account",), "Account", kind
            ).list_id
            applied = _child(body, "AppliedToTxnAdd")
            invoice = self.txns.get(_text(applied, "TxnID")) if applied is not None else None
            if (
                invoice is None
                or invoice.kind != "Invoice"
                or invoice.entity_id != customer.list_id
            ):
                raise Refused(
                    3140,
                    "There is an invalid reference to QuickBooks Invoice in the ReceivePayment.",
                )
            txn.applied_to = invoice.txn_id
            txn.total = str(_d(_text(body, "TotalAmount")))
        elif kind in ("Check", "CreditCardCharge", "Bill"):
            if kind == "Bill":
                txn.entity_id = self._ref(body, "VendorRef", ("vendor",), "Vendor", kind).list_id
            else:
                txn.account_id = self._ref(
                    body, "AccountRef", ("account",), "Account", kind
                ).list_id
                txn.entity_id = self._ref(
                    body, "PayeeEntityRef", ("vendor", "customer", "other", "employee"),
                    "Entity", kind,
                ).list_id  # fmt: skip
            total = Decimal("0")
            for line in self._lines(body, "ExpenseLineAdd"):
                account = self._ref(line, "AccountRef", ("account",), "Account", kind)
                amount = _d(_text(line, "Amount"))
                total += amount
                txn.lines.append({"account": account.list_id, "amount": str(amount),
                                  "memo": _text(line, "Memo")})  # fmt: skip
            txn.total = str(total)
        else:  # JournalEntry
            debits = credits = Decimal("0")
            for line in body:
                if line.tag not in ("JournalDebitLine", "JournalCreditLine"):
                    continue
                account = self._ref(line, "AccountRef", ("account",), "Account", kind)
                amount = _d(_text(line, "Amount"))
                side = "debit" if line.tag == "JournalDebitLine" else "credit"
                if side == "debit":
                    debits += amount
                else:
                    credits += amount
                txn.lines.append({"account": account.list_id, "amount": str(amount), "side": side})
            if debits != credits:
                raise Refused(
                    3180,
                    "There was an error when saving a JournalEntry. QuickBooks error message: "
                    "Transactions must be in balance.",
                )
            txn.total = str(debits)
        txn.txn_id, txn.edit_sequence, txn.created = self._next_id()
        self.txns[txn.txn_id] = txn
        if kind == "ReceivePayment":
            self.txns[txn.applied_to].linked.append(txn.txn_id)
            txn.linked.append(txn.applied_to)
        return self._txn_ret(txn, with_links=False)

    def _txn_ret(self, t: Txn, *, with_links: bool) -> str:
        parts = [
            ("TxnID", t.txn_id),
            ("TimeCreated", t.created),
            ("TimeModified", t.created),
            ("EditSequence", t.edit_sequence),
            ("TxnDate", t.txn_date),
            ("RefNumber", t.ref_number),
        ]
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in parts if v)
        if t.entity_id and t.entity_id in self.lists:
            tag = "VendorRef" if t.kind == "Bill" else (
                "PayeeEntityRef" if t.kind in ("Check", "CreditCardCharge") else "CustomerRef"
            )  # fmt: skip
            entity = self.lists[t.entity_id]
            body += (
                f"<{tag}><ListID>{entity.list_id}</ListID>"
                f"<FullName>{escape(entity.name)}</FullName></{tag}>"
            )
        total_tag = "TotalAmount" if t.kind in ("SalesReceipt", "ReceivePayment") else "Amount"
        if t.kind == "Invoice":
            paid = sum((_d(self.txns[x].total) for x in t.linked if x in self.txns), Decimal("0"))
            body += f"<Subtotal>{t.total}</Subtotal>"
            body += f"<BalanceRemaining>{_d(t.total) - paid}</BalanceRemaining>"
            body += f"<IsPaid>{'true' if paid >= _d(t.total) else 'false'}</IsPaid>"
        else:
            body += f"<{total_tag}>{t.total}</{total_tag}>"
        if t.memo:
            body += f"<Memo>{escape(t.memo)}</Memo>"
        if with_links:
            for other_id in t.linked:
                other = self.txns.get(other_id)
                if other is not None:
                    body += (
                        f"<LinkedTxn><TxnID>{other.txn_id}</TxnID><TxnType>{other.kind}</TxnType>"
                        f"<TxnDate>{other.txn_date}</TxnDate><RefNumber>{escape(other.ref_number)}"
                        f"</RefNumber><LinkType>AMTTYPE</LinkType><Amount>-{other.total}</Amount>"
                        "</LinkedTxn>"
                    )
        return f"<{t.kind}Ret>{body}</{t.kind}Ret>"

    def _txn_query(self, kind: str, rq) -> tuple[str, int, str]:
        refs = [(c.text or "").strip() for c in rq if c.tag == "RefNumber"]
        ids = [(c.text or "").strip() for c in rq if c.tag == "TxnID"]
        links = _text(rq, "IncludeLinkedTxns") == "true"
        found = [
            t
            for t in self.txns.values()
            if t.kind == kind and (t.ref_number in refs or t.txn_id in ids or not (refs or ids))
        ]
        if not found:
            return "", 1, "A query request did not find a matching object in QuickBooks"
        return "".join(self._txn_ret(t, with_links=links) for t in found), 0, "Status OK"
