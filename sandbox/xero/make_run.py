"""What ``make run`` (``manage.py run_embedded``) needs of the Xero stand-in that
``python -m sandbox`` starts: the settings pointing Unify at it (Xero's identity service and
Accounting API). No ``XERO_REDIRECT_URI``, for the reason ``sandbox.qbo.make_run`` gives."""

from __future__ import annotations

from sandbox.xero import DEFAULT_PORT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def unify_settings(base: str) -> dict[str, str]:
    """The settings pointing Unify at this stand-in served at ``base`` (also the benchmarks')."""
    return {
        "XERO_CLIENT_ID": DEMO_CLIENT_ID,
        "XERO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "XERO_AUTHORIZE_URL": f"{base}/identity/connect/authorize",
        "XERO_TOKEN_URL": f"{base}/connect/token",
        "XERO_IDENTITY_BASE_URL": base,
        "XERO_API_BASE_URL": f"{base}/api.xro/2.0",
        "XERO_APP_BASE_URL": base,
        # oauthlib refuses plain-http token exchanges unless told the transport is local.
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
    }


def make_run_environment() -> dict[str, str]:
    return unify_settings(f"http://127.0.0.1:{DEFAULT_PORT}")


def make_run_notes() -> list[str]:
    return []
