"""Flagging a connection whose keys stopped working (its members are told by
the "keys expired" notification)."""

from __future__ import annotations

from connections.models import StoreConnection
from connections.sources.registry import UnknownSourceProvider, source_provider
from unify.core.stored_text import gettext as _


def connection_needs_credentials(*, connection: StoreConnection, reason: str = "") -> bool:
    """Mark the connection as needing new keys (which stops its schedule: only active
    connections are synced) and record it; the members are notified once (the "keys
    expired" notification, by email as each person chose).

    The merchant sees it on the site from the connection's status (the connections page
    shows a banner for ``needs_credentials``). Returns False when it was already flagged.
    """
    from connections.services import connection_mark_needs_credentials

    try:
        source = str(source_provider(connection.provider).name)
    except UnknownSourceProvider:
        source = connection.provider
    flagged = connection_mark_needs_credentials(
        connection=connection,
        message=_(
            "%(source)s rejected the API Key and API Secret: they may have expired or been "
            "regenerated."
        )
        % {"source": source},
        metadata={"detected_by": "sync", "detail": reason[:200]},
    )
    # The members hear of it through the "keys expired" notification (in-app, and by email
    # as each chose), recorded when the connection is flagged.
    return flagged
