"""pytest fixtures for the QBO stand-in (offered by ``sandbox.pytest_plugin``).

- ``qbo_server`` (session): one QBO stand-in on an ephemeral loopback port.
- ``qbo`` (function): the same server reset to its fresh state: the seeded company
  (``qbo.realm_id``, "Sandbox Company_US_1"), the demo OAuth client, no grants, no faults,
  empty logs, limits 500/min, 10 concurrent and 40 batches/min per realm (Intuit's 10/s
  only when asked: ``qbo_limits(per_second=10)``). It also sets
  ``OAUTHLIB_INSECURE_TRANSPORT=1`` for the test, which python-quickbooks needs for
  ``http://``. A test may ask for other limits with
  ``@pytest.mark.qbo_limits(per_minute=None, concurrent=None, per_second=None,
  batch_per_minute=None)`` (None disables one; ``*_window_seconds`` stretch a window).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.qbo.app import QboSandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "qbo_limits(per_minute=500, concurrent=10, batch_per_minute=40, per_second=10): "
        "limits of the QBO "
        "stand-in for this test (None disables one)",
    )


@pytest.fixture(scope="session")
def qbo_server() -> Iterator[QboSandbox]:
    server = QboSandbox().start("127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def qbo(
    qbo_server: QboSandbox, request: pytest.FixtureRequest, monkeypatch
) -> Iterator[QboSandbox]:
    qbo_server.reset()
    # reset() keeps the public base URL (a server setting); tests start without one.
    qbo_server.set_public_base_url(None)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    marker = request.node.get_closest_marker("qbo_limits")
    if marker is not None:
        if "per_minute" in marker.kwargs:
            limit = marker.kwargs["per_minute"]
            if limit is None:
                qbo_server.disable_rate_limit()
            else:
                qbo_server.set_rate_limit(
                    int(limit), float(marker.kwargs.get("window_seconds", 60))
                )
        if "concurrent" in marker.kwargs:
            qbo_server.set_concurrency_limit(marker.kwargs["concurrent"])
        if "batch_per_minute" in marker.kwargs:
            qbo_server.set_batch_rate_limit(
                marker.kwargs["batch_per_minute"],
                float(marker.kwargs.get("batch_window_seconds", 60)),
            )
        if "per_second" in marker.kwargs:
            qbo_server.set_per_second_limit(
                marker.kwargs["per_second"], float(marker.kwargs.get("second_window_seconds", 1))
            )
    yield qbo_server
    # No injected slowness may outlive its test.
    qbo_server.clear_faults()
    qbo_server.set_latency(0)
