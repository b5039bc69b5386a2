"""pytest fixtures for the sandbox stand-ins.

Load with ``pytest_plugins = ["sandbox.pytest_plugin"]`` in a conftest.

- ``shipstation_server`` (session): one ShipStation stand-in on an ephemeral loopback port.
- ``shipstation`` (function): the same server reset to a blank state (no accounts, no
  faults, empty logs, rate limit 40 per 60 s) and returned as the handle. A test may ask for
  another limit with ``@pytest.mark.shipstation_rate_limit(limit, window_seconds=60)`` or
  ``@pytest.mark.shipstation_rate_limit(None)`` (disabled), or call ``set_rate_limit``.
- ``qbo_server`` / ``qbo``: the QuickBooks Online stand-in (see ``sandbox/qbo/testing.py``).
- ``xero_server`` / ``xero``: the Xero stand-in (see ``sandbox/xero/testing.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.shipstation import ShipStationSandbox

# The QBO and Xero fixtures and their markers live with their stand-ins.
pytest_plugins = ["sandbox.qbo.testing", "sandbox.xero.testing"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shipstation_rate_limit(limit, window_seconds=60): rate limit of the ShipStation "
        "stand-in for this test (None disables it)",
    )


@pytest.fixture(scope="session")
def shipstation_server() -> Iterator[ShipStationSandbox]:
    server = ShipStationSandbox().start("127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shipstation(
    shipstation_server: ShipStationSandbox, request: pytest.FixtureRequest
) -> Iterator[ShipStationSandbox]:
    shipstation_server.reset()
    marker = request.node.get_closest_marker("shipstation_rate_limit")
    if marker is not None:
        limit = marker.args[0] if marker.args else marker.kwargs.get("limit", 40)
        window = marker.kwargs.get("window_seconds", marker.args[1] if len(marker.args) > 1 else 60)
        if limit is None:
            shipstation_server.disable_rate_limit()
        else:
            shipstation_server.set_rate_limit(int(limit), float(window))
    yield shipstation_server
    # Leave no injected slowness or queued webhooks behind for the next test.
    shipstation_server.clear_faults()
    shipstation_server.flush_webhooks(timeout=5)
