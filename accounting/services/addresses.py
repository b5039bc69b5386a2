"""An order's address as the source contract carries it (``name``, ``company``,
``street1``.., ``city``, ``state``, ``postalCode``, ``country``) as the ledger-neutral
:class:`PostalAddress`."""

from __future__ import annotations

from typing import Any

from accounting.ledgers.base import PostalAddress

_LINE_KEYS = ("name", "company", "street1", "street2", "street3")


def postal_address(raw: dict[str, Any] | None) -> PostalAddress | None:
    """None when the order has no usable address (nothing but blanks)."""
    if not isinstance(raw, dict):
        return None

    def part(key: str) -> str:
        value = raw.get(key)
        return " ".join(str(value).split()) if value not in (None, "") else ""

    address = PostalAddress(
        lines=tuple(part(key) for key in _LINE_KEYS if part(key)),
        city=part("city"),
        region=part("state").upper(),
        postal_code=part("postalCode"),
        country=part("country").upper(),
    )
    if not (address.lines or address.city or address.region or address.postal_code):
        return None
    return address
