"""What other apps do when a connection changes, as an explicit list instead of signals.

The connection services call these functions (dotted paths) at fixed points, so the order of
events is readable in one place. A listed function whose module or attribute does not exist
(yet) is skipped; any error it raises propagates, except where the service says otherwise.

Each function takes keyword arguments only:

- ``ON_CONNECTED``: ``connection, actor`` after a new connection is saved (inside the
  transaction; queue work with ``delay_on_commit``). The import starts the first sync here.
- ``ON_CREDENTIALS_UPDATED``: ``connection, actor`` after new keys were verified and saved
  (also after a reconnect): resume syncing, clear "needs new keys" state.
- ``ON_DISCONNECTING``: ``connection, actor`` *before* the credentials are deleted (they are
  still readable, e.g. to unsubscribe webhooks); a provider error here does not stop the
  disconnect.
- ``ON_SETTINGS_CHANGED``: ``connection, actor, changed`` (field names) after sync settings
  or store toggles changed.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

ON_CONNECTED: list[str] = ["sales.services.connection_on_connected"]
ON_CREDENTIALS_UPDATED: list[str] = ["sales.services.connection_on_credentials_updated"]
ON_DISCONNECTING: list[str] = ["sales.services.connection_on_disconnecting"]
ON_SETTINGS_CHANGED: list[str] = ["sales.services.connection_on_settings_changed"]


def resolve(path: str) -> Callable[..., Any] | None:
    module_path, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        # Only "this module is not there": an import error inside it must surface.
        if exc.name and module_path.startswith(exc.name):
            return None
        raise
    return getattr(module, attribute, None)


def run(paths: list[str], **kwargs: Any) -> None:
    for path in paths:
        function = resolve(path)
        if function is None:
            logger.debug("connection hook %s is not available; skipped", path)
            continue
        function(**kwargs)
