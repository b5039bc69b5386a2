"""The QuickBooks Desktop adapter: the engine's "execute" step for a ledger that answers
later. A post builds nothing remote and sends nothing: the document the engine built is kept
with the posting (``queued``) and the Web Connector's next run takes it (``planner``); the
answer comes back through ``accounting.services.posting_record_result``."""

from __future__ import annotations

from accounting.ledgers.base import (
    CompanyInfo,
    DocumentKind,
    ExpenseDocument,
    ExternalRef,
    LedgerAdapter,
    LedgerCatalog,
    PostingResult,
    SaleDocument,
    SummaryDocument,
)

PROVIDER = "qbd"


class QbdAdapter(LedgerAdapter):
    provider_key = PROVIDER

    def __init__(self, *, company_id: str, company_name: str, catalog: dict | None) -> None:
        self.company_id = company_id
        self.company_name = company_name
        self.catalog = catalog or {}

    def verify(self) -> CompanyInfo:
        # Nothing to call: QuickBooks Desktop is reached only when its Web Connector calls us.
        return CompanyInfo(company_id=self.company_id, name=self.company_name)

    def fetch_catalog(self) -> LedgerCatalog:
        return LedgerCatalog.from_json(self.catalog)

    def find_document(
        self, *, kind: DocumentKind, reference: str, marker: str
    ) -> ExternalRef | None:
        # Only the Web Connector can look in the company file; it does so itself before it
        # adds a document whose earlier request went unanswered (see planner.py).
        return None

    def _queued(self) -> PostingResult:
        return PostingResult.queued(answer={"queued": "web_connector"})

    def post_sale(self, doc: SaleDocument) -> PostingResult:
        return self._queued()

    def post_expense(self, doc: ExpenseDocument) -> PostingResult:
        return self._queued()

    def post_summary(self, doc: SummaryDocument) -> PostingResult:
        return self._queued()

    def deep_link(self, *, kind: DocumentKind, external_id: str) -> str:
        return ""  # QuickBooks Desktop has no web address for a transaction
