"""``make run`` (``run_embedded``) takes its sandbox stand-ins from the source and ledger
registries (each provider's ``stand_in`` module) and names no provider itself."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox import shipstation
from unify.devtools.management.commands import run_embedded
from unify.devtools.management.commands.run_embedded import sandbox_environment, sandbox_notes


def test_the_registered_providers_stand_ins_give_the_settings_and_the_demo_keys(settings):
    environment = sandbox_environment()
    assert environment["SHIPSTATION_API_BASE_URL"] == f"http://127.0.0.1:{shipstation.DEFAULT_PORT}"
    assert {"QBO_CLIENT_ID", "XERO_CLIENT_ID", "OAUTHLIB_INSECURE_TRANSPORT"} <= set(environment)
    notes = "\n".join(sandbox_notes())
    assert shipstation.DEMO_API_KEY in notes and shipstation.DEMO_API_SECRET in notes
    assert "python -m sandbox qbwc" in notes
    # A source left out of the registry leaves its stand-in out of make run.
    settings.UNIFY_SOURCE_PROVIDERS = ["connections.sources.csv.provider.OrderFileProvider"]
    assert "SHIPSTATION_API_BASE_URL" not in sandbox_environment()
    assert shipstation.DEMO_API_KEY not in "\n".join(sandbox_notes())


def test_run_embedded_names_no_provider():
    text = Path(run_embedded.__file__).read_text()
    assert not re.search(r"shipstation|quickbooks|qbo|xero", text, re.IGNORECASE)
