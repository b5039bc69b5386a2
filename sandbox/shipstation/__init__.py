"""ShipStation API v1 stand-in (see ``sandbox/README.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.shipstation.app import ShipStationSandbox

__all__ = [
    "DEFAULT_PORT",
    "DEMO_API_KEY",
    "DEMO_API_SECRET",
    "DEMO_DAYS",
    "DEMO_ORDERS",
    "DEMO_SEED",
    "DEMO_STORES",
    "ShipStationSandbox",
    "start_demo",
]

DEFAULT_PORT = 8765
# Fixed so the app (and its README) can print them; they only ever open this local stand-in.
DEMO_API_KEY = "demo-shipstation-key-3f9a"
DEMO_API_SECRET = "demo-shipstation-secret"
DEMO_SEED = 42
DEMO_ORDERS = 600
DEMO_DAYS = 45
DEMO_STORES = 5


def start_demo(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, verbose: bool = False
) -> ShipStationSandbox:
    """Start the stand-in with the demo account (seed 42, 600 orders over 45 days)."""
    from sandbox.shipstation.app import ShipStationSandbox

    sandbox = ShipStationSandbox()
    sandbox.add_account(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        seed=DEMO_SEED,
        orders=DEMO_ORDERS,
        days=DEMO_DAYS,
        stores=DEMO_STORES,
        realistic=True,
    )
    return sandbox.start(host, port, verbose=verbose)


def __getattr__(name: str) -> Any:
    # Lazy, so that sandbox.generator can import this package's models and dates without a
    # cycle through the app module (which imports the generator).
    if name == "ShipStationSandbox":
        from sandbox.shipstation.app import ShipStationSandbox

        return ShipStationSandbox
    raise AttributeError(name)
