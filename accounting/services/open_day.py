"""Closed books: "post on the first open day" (issue 17, item 15).

A ledger refuses a transaction dated in its closed books (on or before its closing date or
a lock date). Unify holds such a document with the ledger's reason (never retried on
its own). With the setting ``post_on_first_open_day`` on, the document is instead dated the
first day after the closed period and posted, its memo noting the original date:

- only a refusal the ledger's adapter recognises as closed books counts, and the closing date
  is read from the ledger itself (its adapter's ``books_closed_through``);
- only new documents are re-dated; a change to a document already in closed books stays held;
- the re-dated document has its own idempotency key, derived from the posting's key and the
  new date, so a retry after a lost answer replays the same request (exactly once).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext as _

from accounting.ledgers.base import LedgerAdapter, PostingResult, SaleDocument
from unify.core.exceptions import ProviderRejected


def redated(doc: Any, closed_through: date) -> Any:
    """``doc`` dated the first open day, with the original date in its memo."""
    first_open = closed_through + timedelta(days=1)
    note = _(
        "Originally dated %(original)s; the books were closed through %(closed)s, so it is "
        "dated the first open day."
    ) % {"original": doc.issued_on.isoformat(), "closed": closed_through.isoformat()}
    digest = hashlib.sha256(f"{doc.idempotency_key}:{first_open}".encode()).hexdigest()
    changes: dict[str, Any] = {
        "issued_on": first_open,
        "memo": f"{doc.memo} {note}".strip(),
        "idempotency_key": f"unify-{digest[:40]}",
    }
    if isinstance(doc, SaleDocument) and doc.payment.paid_on <= closed_through:
        changes["payment"] = dataclasses.replace(doc.payment, paid_on=first_open)
    return dataclasses.replace(doc, **changes)


def first_open_day_version(
    adapter: LedgerAdapter, doc: Any, refusal: Exception, *, enabled: bool
) -> Any | None:
    """The re-dated document to post instead of ``doc`` after ``refusal``, or None (the
    setting is off, the refusal is not about closed books, or the date is not the reason)."""
    if not enabled:
        return None
    closed_through = adapter.books_closed_through(refusal)
    if closed_through is None or doc.issued_on > closed_through:
        return None
    return redated(doc, closed_through)


def post(adapter: LedgerAdapter, doc: Any, *, enabled: bool) -> tuple[PostingResult, Any]:
    """Post ``doc``; refused for closed books with the setting on, post its first-open-day
    version instead. Returns the result and the document actually posted."""
    try:
        return adapter.post(doc), doc
    except ProviderRejected as refusal:
        later = first_open_day_version(adapter, doc, refusal, enabled=enabled)
        if later is None:
            raise
    return adapter.post(later), later
