"""The documents services build and adapters send (re-exported by
``accounting.ledgers.base``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounting.ledgers.refs import (
    CENT,
    ZERO,
    DocumentInvalid,
    DocumentKind,
    ItemRef,
    PartyRef,
    PostingSide,
)

# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleLine:
    description: str
    item: ItemRef
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # quantity x unit_price, rounded to cents
    tax_code_id: str = ""


@dataclass(frozen=True, slots=True)
class AmountLine:
    """A line that is only an amount on an account (shipping, discount, difference)."""

    description: str
    amount: Decimal
    account_id: str = ""
    item: ItemRef | None = None


@dataclass(frozen=True, slots=True)
class PaymentInfo:
    deposit_account_id: str
    amount: Decimal
    paid_on: date
    payment_method_id: str = ""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """Where the goods went (the order's ship-to): a ledger's automated sales tax computes
    from it, so it travels with the sale."""

    lines: tuple[str, ...] = ()  # name, company, street lines
    city: str = ""
    region: str = ""  # state / province code
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class SaleDocument:
    """One order as a sale. ``total`` equals what the buyer paid; the arithmetic identity
    ``sum(lines) + shipping + tax - discounts + difference == total`` always holds."""

    idempotency_key: str
    reference: str  # the document number, already fitted to the ledger's limit
    source_reference: str  # our own stable reference ("order:123")
    kind: DocumentKind  # SALES_RECEIPT or INVOICE_PAYMENT
    customer: PartyRef
    issued_on: date
    currency: str
    lines: tuple[SaleLine, ...]
    shipping: AmountLine | None
    discounts: tuple[AmountLine, ...]
    tax: Decimal
    tax_code_id: str
    difference: AmountLine | None  # reconciliation difference, signed
    total: Decimal
    payment: PaymentInfo
    memo: str = ""
    # Tax without a ledger tax code goes to this liability account as its own line, through
    # ``tax_item`` where the ledger needs an item for a line.
    tax_account_id: str = ""
    tax_item: ItemRef | None = None
    ship_to: PostalAddress | None = None

    @property
    def lines_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def discounts_total(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def computed_total(self) -> Decimal:
        shipping = self.shipping.amount if self.shipping else ZERO
        difference = self.difference.amount if self.difference else ZERO
        return self.lines_total + shipping + self.tax - self.discounts_total + difference

    def check(self) -> None:
        if self.computed_total != self.total:
            raise DocumentInvalid(
                f"{self.reference}: lines give {self.computed_total}, total is {self.total}"
            )
        if self.total < ZERO:
            raise DocumentInvalid(f"{self.reference}: negative total {self.total}")
        for amount in (
            self.tax,
            *(line.amount for line in self.lines),
            *(d.amount for d in self.discounts),
        ):
            if amount != amount.quantize(CENT):
                raise DocumentInvalid(f"{self.reference}: {amount} is not whole cents")


@dataclass(frozen=True, slots=True)
class ExpenseLine:
    account_id: str
    amount: Decimal
    description: str = ""


@dataclass(frozen=True, slots=True)
class ExpenseDocument:
    """Shipping label costs: an expense paid from ``payment_account_id`` or a bill owed to
    the vendor."""

    idempotency_key: str
    reference: str
    source_reference: str
    kind: DocumentKind  # EXPENSE or BILL
    vendor: PartyRef
    issued_on: date
    currency: str
    lines: tuple[ExpenseLine, ...]
    payment_account_id: str = ""  # EXPENSE only: the bank/credit card account that paid
    # The ledger's type of that account ("Bank", "Credit Card"): a ledger may choose the
    # payment's type by it.
    payment_account_type: str = ""
    memo: str = ""

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def check(self) -> None:
        if not self.lines or self.total <= ZERO:
            raise DocumentInvalid(f"{self.reference}: an expense needs a positive amount")
        if self.kind == DocumentKind.EXPENSE and not self.payment_account_id:
            raise DocumentInvalid(f"{self.reference}: an expense needs the paying account")


@dataclass(frozen=True, slots=True)
class JournalLine:
    account_id: str
    side: PostingSide
    amount: Decimal  # positive
    description: str = ""


@dataclass(frozen=True, slots=True)
class SummaryDocument:
    """One day and one store as a balanced journal entry."""

    idempotency_key: str
    reference: str
    source_reference: str
    issued_on: date
    currency: str
    lines: tuple[JournalLine, ...]
    memo: str = ""
    kind: DocumentKind = DocumentKind.JOURNAL_ENTRY

    @property
    def debits(self) -> Decimal:
        return sum((x.amount for x in self.lines if x.side == PostingSide.DEBIT), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((x.amount for x in self.lines if x.side == PostingSide.CREDIT), ZERO)

    @property
    def total(self) -> Decimal:
        return self.debits

    def check(self) -> None:
        if self.debits != self.credits:
            raise DocumentInvalid(
                f"{self.reference}: debits {self.debits} != credits {self.credits}"
            )
        if any(line.amount <= ZERO for line in self.lines):
            raise DocumentInvalid(f"{self.reference}: journal lines must be positive")


Document = SaleDocument | ExpenseDocument | SummaryDocument
