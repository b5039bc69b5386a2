"""pytest fixtures for the Xero stand-in (offered by ``sandbox.pytest_plugin``).

- ``xero_server`` (session): one Xero stand-in on an ephemeral loopback port.
- ``xero`` (function): the same server reset to its fresh state: two seeded organisations
  (``xero.tenant_id`` "Demo Company (US)" and ``SECOND_TENANT_ID`` "Bolt Bikes Ltd"), the
  demo app registered, no grants, no faults, empty logs, Xero's limits (60/min, 5,000/day,
  5 at once per organisation, 10,000/min for the app). ``@pytest.mark.xero_limits(...)``
  takes the keywords of ``XeroSandbox.set_limits``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.xero.app import XeroSandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "xero_limits(per_minute=60, minute_seconds=60, per_day=5000, day_seconds=86400, "
        "app_per_minute=10000, concurrent=5): limits of the Xero stand-in for this test",
    )


@pytest.fixture(scope="session")
def xero_server() -> Iterator[XeroSandbox]:
    server = XeroSandbox().start("127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def xero(xero_server: XeroSandbox, request: pytest.FixtureRequest) -> Iterator[XeroSandbox]:
    xero_server.reset()
    xero_server.set_public_base_url(None)
    marker = request.node.get_closest_marker("xero_limits")
    if marker is not None:
        xero_server.set_limits(**marker.kwargs)
    yield xero_server
    xero_server.clear_faults()
    xero_server.set_latency(0)
