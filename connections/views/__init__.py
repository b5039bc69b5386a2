"""Connections tab: list, Add Store > (a source) > Connect Store, the connection page (keys,
disconnect, reconnect, sync settings, store toggles) and order-file uploads. The source's
provider (from the registry) supplies its credentials forms and templates.

Views parse and render; every rule lives in :mod:`connections.services`. Every view reads
``request.organization`` (set by the organization middleware) and looks objects up through
selectors scoped to it, so another organization's ids answer 404.

The views live by page in :mod:`.list_and_add`, :mod:`.connection_page` and
:mod:`.order_file_pages`; ``connections/urls.py`` names them from here.
"""

from connections.views.connection_page import (
    connection_detail,
    connection_disconnect,
    connection_reconnect,
    connection_settings,
    connection_update_keys,
    store_toggle,
)
from connections.views.list_and_add import connection_add, connection_add_source, connection_list
from connections.views.order_file_pages import (
    ORDER_FILE_FORM_OVERHEAD,
    PROBLEMS_PER_PAGE,
    order_file_problems_csv,
    order_file_progress,
    order_file_result,
    order_file_template,
    order_file_upload,
)

__all__ = [
    "ORDER_FILE_FORM_OVERHEAD",
    "PROBLEMS_PER_PAGE",
    "connection_add",
    "connection_add_source",
    "connection_detail",
    "connection_disconnect",
    "connection_list",
    "connection_reconnect",
    "connection_settings",
    "connection_update_keys",
    "order_file_problems_csv",
    "order_file_progress",
    "order_file_result",
    "order_file_template",
    "order_file_upload",
    "store_toggle",
]
