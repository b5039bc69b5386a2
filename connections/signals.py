"""What a store connection tells the rest of Unify when it changes.

Sent by ``connections.services``; the import (``sales``) connects its receivers in
``SalesConfig.ready``. Receivers are called in order and an error propagates to the service
(which decides, per signal, whether it stops the change). Every signal carries
``connection`` and ``actor`` (the person, or None for the system):

- ``connection_connected``: a new connection was saved (inside its transaction; queue work
  with ``delay_on_commit``). The import starts the first sync here.
- ``connection_credentials_updated``: new keys were verified and saved (also after a
  reconnect): resume syncing, clear "needs new keys" state.
- ``connection_disconnecting``: *before* the credentials are deleted (still readable); a
  provider error raised here does not stop the disconnect.
- ``connection_settings_changed``: sync settings or store toggles changed; also carries
  ``changed`` (field names).
"""

from django.dispatch import Signal

connection_connected = Signal()
connection_credentials_updated = Signal()
connection_disconnecting = Signal()
connection_settings_changed = Signal()
