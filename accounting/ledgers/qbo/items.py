"""QuickBooks Online items for SKUs: found by their ``Sku`` field first, then by name.

QuickBooks names may not hold a colon (it separates sub-items), so ``A:B`` is named ``A-B``;
a SKU whose name had to change (or be shortened to 100 characters) gets a deterministic
suffix from the SKU itself, so ``A:B`` and ``A-B`` never merge into one item. An item found
by name is used only when it has no SKU or the same one."""

from __future__ import annotations

import hashlib
from typing import Any

NAME_LIMIT = 100


def _clean(value: str, limit: int = NAME_LIMIT) -> str:
    cleaned = " ".join(value.replace(":", "-").split())
    return cleaned[:limit] or "-"


def item_name(name: str, sku: str, *, taken: bool = False) -> str:
    """The QuickBooks name for an item of ``sku`` (``name`` is the SKU for SKU items);
    ``taken``: the plain name belongs to an item with another SKU."""
    cleaned = _clean(name)
    if not sku or (cleaned == sku and not taken):
        return cleaned
    suffix = " ~" + hashlib.sha256(sku.encode()).hexdigest()[:6]
    room = max(NAME_LIMIT - len(suffix), 1)
    return _clean(cleaned[:room].rstrip() + suffix)


def same_sku(row: dict[str, Any], sku: str) -> bool:
    theirs = str(row.get("Sku") or "").strip()
    return not theirs or theirs == sku
