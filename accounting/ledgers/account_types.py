"""Which ledger accounts each posting-settings mapping may use, per ledger, so the settings
page offers only accounts the ledger will accept there (sources in
docs/reference/provider-facts.md, "Account types").

Each ledger's provider lists its rules (``LedgerProvider.account_rules``, built with
:func:`rule` in the ledger's own package); a ledger without rules offers every account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accounting.ledgers.base import CatalogEntry


@dataclass(frozen=True, slots=True)
class Rule:
    kinds: frozenset[str] = frozenset()  # allowed account types (empty: any but ``excluded``)
    excluded: frozenset[str] = frozenset()
    payments: bool = False  # also any account that takes payments (``detail="payments"``)

    def allows(self, entry: CatalogEntry) -> bool:
        if entry.kind in self.excluded:
            return False
        if self.payments and entry.detail == "payments":
            return True
        return not self.kinds or entry.kind in self.kinds


def rule(*kinds: str, excluded: tuple[str, ...] = (), payments: bool = False) -> Rule:
    return Rule(frozenset(kinds), frozenset(excluded), payments)


def rules_of(provider: str) -> Mapping[str, Rule]:
    """The ledger's rules by mapping field (its provider's ``account_rules``; none for a
    ledger no longer configured)."""
    from accounting.ledgers.registry import ledger_providers

    ledger = ledger_providers().get(provider)
    return ledger.account_rules if ledger is not None else {}


def accounts_for(
    provider: str, field: str, accounts: tuple[CatalogEntry, ...]
) -> tuple[CatalogEntry, ...]:
    """The accounts of the catalog that ``field`` may be mapped to on ``provider``."""
    found = rules_of(provider).get(field)
    if found is None:
        return accounts
    return tuple(a for a in accounts if found.allows(a))


def allows(provider: str, field: str, entry: CatalogEntry) -> bool:
    found = rules_of(provider).get(field)
    return found is None or found.allows(entry)
