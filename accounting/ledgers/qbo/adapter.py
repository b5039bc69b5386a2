"""QuickBooks Online: our documents as QBO transactions, through python-quickbooks.

One request per document, each with the document's idempotency key as ``requestid`` (Intuit
replays the first answer for a repeated key). Customers, vendors and items are found by
name first and created when missing; a 6240 "duplicate name" on create means someone made
it meanwhile (or the name belongs to another kind of entity), so the answer is a query, not
a failure.
"""

from __future__ import annotations

from django.conf import settings

from accounting.ledgers.base import DocumentKind
from accounting.ledgers.qbo.catalog import QboCatalog
from accounting.ledgers.qbo.changes import QboChanges
from accounting.ledgers.qbo.client import PROVIDER
from accounting.ledgers.qbo.entities import (  # noqa: F401 - imported from here by batch, own_items
    APP_PAGE_FOR_KIND,
    ENTITY_FOR_KIND,
    _entity_request_id,
    _ref,
    _with_suffix,
    clean_name,
    quote,
)


class QboAdapter(QboCatalog, QboChanges):
    """QuickBooks Online's :class:`LedgerAdapter`, in parts: ``calls`` (client, tokens,
    errors), ``catalog``, ``lookups``, ``posting``, ``changes`` (updates and removals)."""

    provider_key = PROVIDER

    def deep_link(self, *, kind: DocumentKind, external_id: str) -> str:
        base = settings.QBO_APP_BASE_URL.rstrip("/")
        return f"{base}/app/{APP_PAGE_FOR_KIND[kind]}?txnId={external_id}"
