"""What ``make run`` (``manage.py run_embedded``) needs of the ShipStation stand-in that
``python -m sandbox`` starts: the settings pointing Unify at it and the demo keys to show."""

from __future__ import annotations

from sandbox.shipstation import DEFAULT_PORT, DEMO_API_KEY, DEMO_API_SECRET


def make_run_environment() -> dict[str, str]:
    return {"SHIPSTATION_API_BASE_URL": f"http://127.0.0.1:{DEFAULT_PORT}"}


def make_run_notes() -> list[str]:
    return [f"Sandbox ShipStation keys: API Key {DEMO_API_KEY}  API Secret {DEMO_API_SECRET}"]
