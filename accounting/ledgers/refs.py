"""Ledger-neutral kinds, markers and references to ledger records (re-exported by
``accounting.ledgers.base``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class DocumentKind(StrEnum):
    SALES_RECEIPT = "sales_receipt"
    INVOICE_PAYMENT = "invoice_payment"
    EXPENSE = "expense"
    BILL = "bill"
    JOURNAL_ENTRY = "journal_entry"


class ResultStatus(StrEnum):
    POSTED = "posted"
    QUEUED = "queued"  # an asynchronous ledger: waits for its connector to take it


class PostingSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def document_marker(*, connection_id: int, source_reference: str) -> str:
    """Written at the start of every document's memo: tells our document from a user's one
    with the same number when a document is looked up after an unknown outcome."""
    return f"[unify c{connection_id} {source_reference}]"


def memo_marker(memo: str) -> str:
    """The marker at the start of ``memo`` ("" when there is none)."""
    if memo.startswith("[unify ") and "]" in memo:
        return memo[: memo.index("]") + 1]
    return ""


class DocumentInvalid(ValueError):
    """A document broke one of its own invariants (unbalanced, negative total...)."""


def _provider_unavailable() -> type:
    from unify.core.exceptions import ProviderUnavailable

    return ProviderUnavailable


class RequestNotSent(_provider_unavailable()):  # type: ignore[misc]
    """A request was never sent (the rate limit kept it waiting until the postings' lease was
    too short for an answer): the postings go back to the queue as if never claimed."""


# ---------------------------------------------------------------------------------------------
# References to ledger records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyRef:
    """A customer or vendor: the ledger id when known, else what to find or create it by."""

    display_name: str
    external_id: str = ""
    email: str = ""
    # The key under which the service remembers the resolved id (e.g. "email:jane@x.com").
    match_key: str = ""
    # Unify's customer map: ledger id -> the buyer key that claimed it ("customer:email:..."),
    # so a merchant's email-less customer reused for one buyer is never a second buyer's.
    claims: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def claimed_by_another(self, external_id: str, resolved: Mapping[str, str] = {}) -> bool:  # noqa: B006
        """True when another buyer (another email) holds ``external_id`` in Unify's map, or
        took it earlier in this run (``resolved``)."""
        if not self.email.strip():
            return False
        holder = self.claims.get(external_id, "")
        if holder and holder != self.match_key:
            return True
        return any(
            value == external_id and key != self.match_key and key.startswith(CLAIM_PREFIX)
            for key, value in resolved.items()
        )


# Keys of buyers known by email in Unify's customer map: their customer is theirs alone.
CLAIM_PREFIX = "customer:email:"


def customer_claims(refs: Mapping[str, str]) -> dict[str, str]:
    """Ledger id -> claiming buyer key, from Unify's reference map of one connection."""
    return {value: key for key, value in refs.items() if key.startswith(CLAIM_PREFIX)}


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A product/service item: the ledger id when known, else find by SKU/name or create."""

    name: str
    external_id: str = ""
    sku: str = ""
    create_if_missing: bool = False
    income_account_id: str = ""
    match_key: str = ""
    # Unify's own item for one mapped account (shipping, sales tax, reconciliation): named
    # after that account and never a merchant's item of the plain name, so a changed mapping
    # gets its own item instead of keeping the old account.
    account_bound: bool = False
