"""Accounting tab: ledger cards (connect, test, disconnect), posting settings, the posting
log, review of documents changed after posting, and the posting endpoints the Sales tab
uses (post selected / filtered, retry failed, batch progress).

Views parse and render; every rule lives in :mod:`accounting.services`. Objects are looked
up through selectors scoped to ``request.organization``, so another organization's ids
answer 404.

The views live by page in :mod:`.ledgers`, :mod:`.settings_page` and :mod:`.postings`;
``accounting/urls.py`` and ``accounting/oauth_urls.py`` name them from here.
"""

from accounting.views.ledgers import (
    catalog_refresh,
    connect,
    disconnect,
    home,
    oauth_callback,
    test_connection,
)
from accounting.views.postings import (
    batch_progress,
    posting_detail,
    posting_log,
    posting_retry,
    posting_retry_one,
    posting_update,
)
from accounting.views.settings_page import posting_settings

__all__ = [
    "batch_progress",
    "catalog_refresh",
    "connect",
    "disconnect",
    "home",
    "oauth_callback",
    "posting_detail",
    "posting_log",
    "posting_retry",
    "posting_retry_one",
    "posting_settings",
    "posting_update",
    "test_connection",
]
