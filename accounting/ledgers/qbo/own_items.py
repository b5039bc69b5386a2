"""Unify's own QuickBooks items for one mapped account: shipping, sales tax collected and the
reconciliation difference, when the merchant has not chosen an item of theirs.

QuickBooks posts an item line to the item's income account, so the item stands for the
account. Each one is named after its purpose and its account ("Shipping (Shipping Income)"):

- a merchant's own "Shipping" item is never taken for ours (it is used only when chosen in
  the settings), whatever account it posts to;
- after the mapping changes, the next posting gets the item of the new account; going back
  finds the earlier one again (same name, same account);
- an item of that name on another account (someone renamed one) is not ours either: the
  name then also carries the account id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quickbooks import exceptions as qbe

from accounting.ledgers.base import ItemRef
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo.entities import (
    DUPLICATE_NAME,
    _entity_request_id,
    _with_suffix,
    clean_name,
    quote,
)
from unify.core.exceptions import ProviderRejected
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.qbo.adapter import QboAdapter
    from accounting.ledgers.qbo.client import QboClient


def _account_name(adapter: QboAdapter, client: QboClient, account_id: str) -> str:
    select = f"SELECT * FROM Account WHERE Id = {quote(account_id)}"  # noqa: S608 - quoted
    rows = adapter._rows(adapter._query(client, select), "Account")
    return str(rows[0].get("Name") or account_id) if rows else account_id


def _posts_to(row: dict[str, Any], account_id: str) -> bool:
    return str((row.get("IncomeAccountRef") or {}).get("value", "")) == account_id


def own_item(
    adapter: QboAdapter, client: QboClient, item: ItemRef, resolved: dict[str, str], kind: str
) -> str:
    """The id of Unify's item for ``item.income_account_id``, found or created."""
    account = item.income_account_id
    name = clean_name(f"{item.name} ({_account_name(adapter, client, account)})")
    for candidate in (name, _with_suffix(name, f" #{account}")):
        body = {"Name": candidate, "Type": kind, "IncomeAccountRef": {"value": account}}
        request_id = _entity_request_id("Item", f"{candidate}\n{account}")
        try:
            return _remember(adapter._create(client, "Item", body, request_id), item, resolved)
        except qbe.QuickbooksException as exc:
            if qbo_faults.fault_code(exc) != DUPLICATE_NAME:
                raise adapter._rejected(exc, f"item {candidate}") from None
        select = f"SELECT * FROM Item WHERE Name = {quote(candidate)}"  # noqa: S608 - quoted
        rows = [r for r in adapter._rows(adapter._query(client, select), "Item")]
        if rows and _posts_to(rows[0], account):
            return _remember(rows[0], item, resolved)
    raise adapter._error(
        ProviderRejected,
        f"qbo item {name}: name taken",
        user_message=_(
            "QuickBooks already has items named “%(name)s” that post to another account, "
            "so Unify cannot create its own. Rename them in QuickBooks or choose an item in "
            "the posting settings."
        )
        % {"name": name},
    )


def _remember(row: dict[str, Any], item: ItemRef, resolved: dict[str, str]) -> str:
    found = str(row["Id"])
    if item.match_key:
        resolved[item.match_key] = found
    return found
