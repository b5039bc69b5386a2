"""What every document builder shares: the build error, cents, idempotency keys, document
numbers fitted to the ledger's limit, the day and store an order belongs to, the name of
its source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from accounting.ledgers.base import (
    DocumentInvalid,
    document_marker,
)
from unify.core.exceptions import DomainError
from unify.core.money import to_cents
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from sales.models import Order


class DocumentBuildError(DomainError):
    """The document cannot be built as the settings stand; ``user_message`` says why."""

    def __init__(self, message: str, *, hold_reason: str = "") -> None:
        super().__init__(message, user_message=message)
        self.hold_reason = hold_reason  # accounting.models.HoldReason, or ""


def source_name(key: str) -> str:
    """An order source's name as people see it (its provider's, from the source registry),
    for messages and documents that say where something happened; the key itself for a
    source no longer configured."""
    from connections.sources.registry import UnknownSourceProvider, source_provider

    try:
        return str(source_provider(key).name)
    except UnknownSourceProvider:
        return key


def money(value: Decimal) -> Decimal:
    """Cents by the one rounding rule (:mod:`unify.core.money`)."""
    return to_cents(value)


def idempotency_key(*, connection_id: int, kind: str, source_reference: str, revision: int) -> str:
    """Deterministic and at most 50 characters (the shortest request id a ledger takes)."""
    digest = hashlib.sha256(
        f"{connection_id}:{kind}:{source_reference}:{revision}".encode()
    ).hexdigest()
    return f"unify-{digest[:40]}"


def fit_document_number(prefix: str, number: str, limit: int, attempt: int = 0) -> str:
    """``prefix + number`` within ``limit`` characters; ``attempt`` > 0 gives the variants
    the service tries when the plain number is already taken (two stores' "#1001").

    A number too long keeps its tail (marketplace numbers differ at the end) and gets a
    short hash of the whole number, so two long numbers with the same tail still differ.
    """
    number = "".join(ch for ch in number.strip() if ch.isprintable()) or "0"
    suffix = f"-{attempt + 1}" if attempt else ""
    plain = f"{prefix}{number}{suffix}"
    if len(plain) <= limit:
        return plain
    tag = hashlib.sha256(number.encode()).hexdigest()[:4].upper()
    room = limit - len(prefix) - len(suffix) - len(tag) - 1
    if room < 1:
        raise DocumentBuildError(
            _("The document number prefix “%(prefix)s” leaves no room for order numbers.")
            % {"prefix": prefix}
        )
    return f"{prefix}{number[-room:]}~{tag}{suffix}"


def _marker(facts: LedgerFacts, source_reference: str) -> str:
    return document_marker(connection_id=facts.connection_id, source_reference=source_reference)


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    """What the builder needs to know about the target ledger."""

    connection_id: int
    doc_number_max_length: int
    # The provider's lengths for names (customers, items) and a payment's reference; the
    # defaults are the ones every ledger got before providers stated them.
    name_max_length: int = 100
    payment_reference_max_length: int = 21


def order_day(order: Order, tz) -> date:
    """The day an order belongs to: its payment (else order, else creation) date in the
    organization's time zone. Sale documents carry it; daily summaries group by it."""
    when = order.payment_date or order.order_date or order.create_date or order.created_at
    return when.astimezone(tz).date()


def summary_store_key(order: Order) -> str:
    """Which daily summary an order goes to, besides its day: its store."""
    if order.source_store_id:
        return str(order.source_store_id)
    # No store record (an order file, or a store the source no longer lists): the
    # connection and the store name as the order carries it, so two connections' orders
    # never share a journal. ``max_length`` of the key is 64.
    return f"conn:{order.connection_id or ''}:" + (order.store_name or "")[:STORE_NAME_IN_KEY]


STORE_NAME_IN_KEY = 40


def _require(value: str, label: str) -> str:
    if not value:
        raise DocumentBuildError(
            _("Map the “%(account)s” account in the posting settings first.") % {"account": label}
        )
    return value


def _checked(doc) -> None:
    try:
        doc.check()
    except DocumentInvalid as exc:
        raise DocumentBuildError(
            _("This document cannot be posted as it stands: %(problem)s") % {"problem": exc}
        ) from None
