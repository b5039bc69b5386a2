"""Writes for store connections: connect, update credentials, disconnect, reconnect, sync
settings, store toggles. Plan rules are enforced here, not only in forms. Callers import from
this package only; each step lives in its own module."""

from connections.errors import ConnectionRefused
from connections.services.connect import (
    connection_create,
    connection_reconnect,
    connection_update_credentials,
)
from connections.services.credentials import VERIFY_MAX_WAIT_SECONDS, source_verify
from connections.services.lifecycle import (
    connection_disconnect,
    connection_mark_needs_credentials,
)
from connections.services.plans import plan_check_new_connection, provider_name
from connections.services.sync_settings import (
    connection_update_settings,
    source_store_set_included,
)

__all__ = [
    "VERIFY_MAX_WAIT_SECONDS",
    "ConnectionRefused",
    "connection_create",
    "connection_disconnect",
    "connection_mark_needs_credentials",
    "connection_reconnect",
    "connection_update_credentials",
    "connection_update_settings",
    "plan_check_new_connection",
    "provider_name",
    "source_store_set_included",
    "source_verify",
]
