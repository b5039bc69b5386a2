"""Xero stand-in: Xero's identity service, ``/connections`` and the Accounting API 2.0 (see
README.md)."""

from __future__ import annotations

from sandbox.xero.app import XeroSandbox
from sandbox.xero.control import DEFAULT_SCOPE
from sandbox.xero.identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_USER_EMAIL
from sandbox.xero.seed import (
    ACCOUNT_CODES,
    DEFAULT_ORGANISATION_NAME,
    DEFAULT_TENANT_ID,
    SECOND_ORGANISATION_NAME,
    SECOND_TENANT_ID,
)

__all__ = [
    "ACCOUNT_CODES",
    "DEFAULT_ORGANISATION_NAME",
    "DEFAULT_PORT",
    "DEFAULT_SCOPE",
    "DEFAULT_TENANT_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_USER_EMAIL",
    "SECOND_ORGANISATION_NAME",
    "SECOND_TENANT_ID",
    "XeroSandbox",
    "start_demo",
]

DEFAULT_PORT = 8767


def start_demo(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, verbose: bool = False
) -> XeroSandbox:
    """Start the stand-in with its two seeded organisations and the demo app registered."""
    return XeroSandbox().start(host, port, verbose=verbose)
