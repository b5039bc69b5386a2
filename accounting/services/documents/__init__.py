"""Orders, label costs and days into ledger-neutral documents, in ``Decimal``, to the cent.

Rules:

- a line's amount is ``quantity x unit price`` rounded half-up to cents (what ledgers check);
- discount lines (and any other negative line) become discount amounts;
- the document's total is what the buyer paid. When the lines, shipping and tax do not add
  up to it, the difference goes to the reconciliation account if the settings allow it, or
  the build fails with a message that names both amounts. Never silently off by a cent.
  Tax a marketplace remitted and a coupon the order did not itemise are not differences
  (:mod:`accounting.services.differences`);
- an order shipped with nothing paid is an open invoice (a receivable, no payment) in
  invoice + payment mode, and is held with the reason in sales-receipt mode (no 0.00 receipt);
- document numbers are the prefix plus the order number, fitted to the ledger's limit
  (:func:`fit_document_number`); uniqueness is the service's job (it keeps a table).

One module per kind of document: ``sale``, ``expense`` (a label cost), ``summary`` (a day's
journal entry), on ``common``; callers import from this package.
"""

from accounting.services.documents.common import (
    STORE_NAME_IN_KEY,
    DocumentBuildError,
    LedgerFacts,
    _checked,
    _marker,
    _require,
    fit_document_number,
    idempotency_key,
    money,
    order_day,
    source_name,
    summary_store_key,
)
from accounting.services.documents.expense import build_expense_document, carrier_name
from accounting.services.documents.sale import SaleAmounts, build_sale_document, sale_amounts
from accounting.services.documents.summary import (
    SummaryTotals,
    build_summary_document,
    summary_totals,
)

__all__ = [
    "STORE_NAME_IN_KEY",
    "DocumentBuildError",
    "LedgerFacts",
    "SaleAmounts",
    "SummaryTotals",
    "_checked",
    "_marker",
    "_require",
    "build_expense_document",
    "build_sale_document",
    "build_summary_document",
    "carrier_name",
    "fit_document_number",
    "idempotency_key",
    "money",
    "order_day",
    "sale_amounts",
    "source_name",
    "summary_store_key",
    "summary_totals",
]
