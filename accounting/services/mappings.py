"""Mapping changes apply to every posting built afterwards.

Most mappings are read from the posting settings for each document (discounts, deposits,
expense accounts, and line accounts of ledgers that name them per line). Three live on as
items in a ledger that posts through items: the shipping, sales tax and reconciliation items
Unify creates post to the account they were created with, and Unify's reference map
remembers them by purpose ("item:shipping"). When one of those mappings changes, its
remembered item is forgotten here, so the next posting finds or creates the item of the new
account (the ledger's adapter does that).

Documents already posted keep the account they were posted with until they are re-posted.
A drain that is running when the settings change picks them up before its next batch
(:func:`settings_stamp`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from accounting.models import LedgerReference, PostingSettings

# Reference key -> the settings it stands for.
ACCOUNT_BOUND_REFERENCES: dict[str, tuple[str, ...]] = {
    "item:shipping": ("shipping_income_account_id", "shipping_item_id"),
    "item:sales-tax": ("tax_liability_account_id",),
    "item:reconciliation": ("reconciliation_account_id",),
}


def forget_changed_mappings(connection_id: int, changed_fields: Iterable[str]) -> list[str]:
    """Forget the remembered items whose mapping is among ``changed_fields`` (settings field
    names). Returns the forgotten keys."""
    changed = set(changed_fields)
    keys = [key for key, names in ACCOUNT_BOUND_REFERENCES.items() if changed & set(names)]
    if keys:
        LedgerReference.objects.filter(ledger_connection_id=connection_id, key__in=keys).delete()
    return keys


def settings_stamp(connection_id: int) -> datetime | None:
    """When the connection's posting settings last changed (one small query)."""
    return (
        PostingSettings.objects.filter(ledger_connection_id=connection_id)
        .values_list("updated_at", flat=True)
        .first()
    )
