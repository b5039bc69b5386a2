"""Messages Unify stored (as msgids, see ``unify.core.stored_text``) before shared code named
the source from the registry ("%(source)s fails on this order"). Rows written then keep these
msgids; listed here so the catalog keeps their translations and they still read in their
reader's language."""

from django.utils.translation import gettext_noop

STORED_BEFORE = (
    gettext_noop("ShipStation fails on this order"),
    gettext_noop("Not imported from ShipStation."),
    gettext_noop("ShipStation no longer has this order."),
    gettext_noop(
        "ShipStation did not answer properly after several attempts. The orders imported so "
        "far are kept; the next sync continues from here."
    ),
    gettext_noop("ShipStation refused a request of the import: %(reason)s"),
    gettext_noop(
        "ShipStation rejected the API keys (they may have expired). Enter new keys on the "
        "connection page; the import continues from here."
    ),
    gettext_noop(
        "ShipStation rejected the API Key and API Secret: they may have expired or been "
        "regenerated."
    ),
)
