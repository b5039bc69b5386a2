"""What the Sales tab asks of posting: the accounting app owns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from unify.tenancy.models import Organization


def ledger_connected(*, organization: Organization) -> bool:
    """Whether the organization has a ledger the Sales tab can post to."""
    from accounting.services import active_ledger

    return active_ledger(organization) is not None


def ledgers_available() -> list[str]:
    """The names of the ledgers a merchant can connect today (each ledger provider's name), for the
    prompts that send them to the Accounting tab (never one that is still "coming soon")."""
    from accounting.ledgers.registry import ledger_cards

    return [str(card["name"]) for card in ledger_cards() if card["available"]]


def orders_post(
    *,
    organization: Organization,
    orders: Sequence[int] | QuerySet,
    actor: Any = None,
    all_filtered: bool = False,
) -> Any:
    """Queue these orders for posting; returns the accounting app's batch. Raises
    ``DomainError`` (with a message for the merchant) when no ledger is connected."""
    from accounting.models import PostingBatch
    from accounting.services import posting_enqueue_orders

    origin = PostingBatch.Origin.FILTERED if all_filtered else PostingBatch.Origin.SELECTED
    return posting_enqueue_orders(
        organization=organization, order_ids=orders, user=actor, origin=origin
    )


def orders_retry_failed(
    *, organization: Organization, order_ids: Sequence[int] | None, actor: Any = None
) -> Any:
    """Queue the failed postings of these orders (all failed ones when ``order_ids`` is None)
    again. Returns the batch, or None when nothing had failed."""
    from accounting.services import posting_retry_failed

    return posting_retry_failed(
        organization=organization,
        order_ids=list(order_ids) if order_ids is not None else None,
        user=actor,
    )
