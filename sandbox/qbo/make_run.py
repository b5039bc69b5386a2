"""What ``make run`` (``manage.py run_embedded``) needs of the QuickBooks Online stand-in that
``python -m sandbox`` starts: the settings pointing Unify at it (Intuit's OAuth server and API).

No ``QBO_REDIRECT_URI``: the callback address is then built from the request's host, so the
OAuth flow starts and ends on the host the merchant browses (``localhost`` or
``127.0.0.1``), where the session cookie holding its ``state`` lives. The stand-in accepts any
redirect URI for its demo client."""

from __future__ import annotations

from sandbox.qbo import DEFAULT_PORT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def unify_settings(base: str) -> dict[str, str]:
    """The settings pointing Unify at this stand-in served at ``base`` (also the benchmarks')."""
    return {
        "QBO_CLIENT_ID": DEMO_CLIENT_ID,
        "QBO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "QBO_DISCOVERY_URL": f"{base}/.well-known/openid_configuration",
        "QBO_API_BASE_URL": f"{base}/v3",
        "QBO_APP_BASE_URL": base,
        # oauthlib refuses plain-http token exchanges unless told the transport is local.
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
    }


def make_run_environment() -> dict[str, str]:
    return unify_settings(f"http://127.0.0.1:{DEFAULT_PORT}")


def make_run_notes() -> list[str]:
    return []
