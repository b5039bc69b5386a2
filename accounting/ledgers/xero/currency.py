"""A daily summary in another currency than the Xero organisation's base currency is held.

Xero's manual journals carry no currency (xero-python's ``ManualJournal`` has no currency
field): whatever figures a journal holds are booked in the organisation's base currency. A
Canadian-dollar day sent to a US-dollar organisation would be booked as that many US dollars.
Invoices and bank transactions carry ``CurrencyCode`` and Xero converts them at its rate.

So such a summary is never sent: it fails with ``HoldReason.CURRENCY`` and a plain reason (as
QuickBooks Online's refusal of a foreign currency without multicurrency is held), telling the
merchant what to do. Once the setting changes, the held summaries follow it
(``accounting.services.summaries.currency_holds_follow_settings``).

The base currency is read with ``GET /Organisation`` when a journal is about to go, once per
tenant and ``_TTL`` seconds per process.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from accounting.ledgers.base import Document, SummaryDocument
from unify.core.exceptions import ProviderRejected, ProviderResponseInvalid
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.xero.adapter import XeroAdapter

_BASE_CURRENCY: dict[str, tuple[float, str]] = {}
_TTL = 600.0


def base_currency(adapter: XeroAdapter) -> str:
    cached = _BASE_CURRENCY.get(adapter.tenant_id)
    if cached is not None and time.monotonic() - cached[0] <= _TTL:
        return cached[1]
    api = adapter.session.accounting
    answer = adapter.session.call(
        "GET Organisation", lambda **kw: api.get_organisations(adapter.tenant_id, **kw)
    )
    rows = adapter._body(answer, "Organisations")
    currency = str(rows[0].get("BaseCurrency") or "") if rows else ""
    if not currency:
        raise adapter._error(ProviderResponseInvalid, "xero: no base currency in the answer")
    _BASE_CURRENCY[adapter.tenant_id] = (time.monotonic(), currency)
    return currency


def held_message(currency: str, base: str) -> str:
    return _(
        "This daily summary is in %(currency)s, but the Xero organisation keeps its books in "
        "%(base)s. A Xero manual journal has no currency, so Xero would book the %(currency)s "
        "figures as %(base)s. Unify holds it: choose “Invoice + payment” in the posting "
        "settings (an invoice carries its currency and Xero converts it), or leave this "
        "store out of “Stores to post” (tick only the stores kept in %(base)s) and post it "
        "to a Xero organisation kept in %(currency)s. The summary follows the setting once "
        "it is saved."
    ) % {"currency": currency, "base": base}


def journal_refusal(adapter: XeroAdapter, doc: Document) -> ProviderRejected | None:
    """The hold of a summary Xero would book in the wrong currency (None when it may go)."""
    if not isinstance(doc, SummaryDocument) or not doc.currency:
        return None
    base = base_currency(adapter)
    if doc.currency.upper() == base.upper():
        return None
    return adapter._error(
        ProviderRejected,
        f"xero: summary in {doc.currency}, organisation base currency {base}",
        field_errors={"currency": doc.currency, "base_currency": base},
        hold_reason="currency",  # accounting.models.HoldReason.CURRENCY
        user_message=held_message(doc.currency, base),
    )
