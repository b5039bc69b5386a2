"""QuickBooks Online stand-in: Intuit OAuth 2.0 and the Accounting API v3 (see README.md)."""

from __future__ import annotations

from sandbox.qbo.app import QboSandbox
from sandbox.qbo.company import SHIPPING_ITEM_ID
from sandbox.qbo.oauth import ACCOUNTING_SCOPE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox.qbo.seed import (
    ACCOUNT_IDS,
    DEFAULT_COMPANY_NAME,
    DEFAULT_REALM_ID,
    ITEM_IDS,
    VENDOR_IDS,
)

__all__ = [
    "ACCOUNTING_SCOPE",
    "ACCOUNT_IDS",
    "DEFAULT_COMPANY_NAME",
    "DEFAULT_PORT",
    "DEFAULT_REALM_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "ITEM_IDS",
    "SHIPPING_ITEM_ID",
    "VENDOR_IDS",
    "QboSandbox",
    "start_demo",
]

DEFAULT_PORT = 8766


def start_demo(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, verbose: bool = False
) -> QboSandbox:
    """Start the stand-in with the seeded company and the demo OAuth client registered."""
    return QboSandbox().start(host, port, verbose=verbose)
