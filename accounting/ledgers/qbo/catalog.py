"""The company behind a QBO connection: its name, its catalog (accounts, items, tax codes,
vendors, payment methods) and its closing date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from quickbooks.objects.account import Account
from quickbooks.objects.item import Item
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.vendor import Vendor

from accounting.ledgers.base import CatalogEntry, CompanyInfo, LedgerCatalog
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo.calls import QboCalls
from accounting.ledgers.qbo.client import QboClient
from unify.core.exceptions import ProviderRejected


class QboCatalog(QboCalls):
    def verify(self) -> CompanyInfo:
        def run(client: QboClient) -> CompanyInfo:
            data = client.get_single_object("CompanyInfo", self.realm_id)["CompanyInfo"]
            return CompanyInfo(
                company_id=self.realm_id,
                name=data.get("CompanyName") or data.get("LegalName") or "",
                country=data.get("Country") or "",
            )

        return self.call(run)

    def fetch_catalog(self) -> LedgerCatalog:
        def all_of(client: QboClient, cls, where: str = "") -> list[Any]:
            found: list[Any] = []
            start = 1
            while True:
                page = cls.query(
                    f"SELECT * FROM {cls.qbo_object_name}{where} "  # noqa: S608 - QBO, constants
                    f"STARTPOSITION {start} MAXRESULTS 1000",
                    qb=client,
                )
                found.extend(page)
                if len(page) < 1000:
                    return found
                start += 1000

        def run(client: QboClient) -> LedgerCatalog:
            accounts = all_of(client, Account, " WHERE Active = true")
            items = all_of(client, Item, " WHERE Active = true")
            tax_codes = all_of(client, TaxCode)
            vendors = all_of(client, Vendor, " WHERE Active = true")
            methods = all_of(client, PaymentMethod)
            return LedgerCatalog(
                accounts=tuple(
                    CatalogEntry(
                        id=str(a.Id),
                        name=a.FullyQualifiedName or a.Name,
                        kind=a.AccountType or "",
                        detail=a.AccountSubType or "",
                    )
                    for a in accounts
                ),
                items=tuple(
                    CatalogEntry(
                        id=str(i.Id),
                        name=i.FullyQualifiedName or i.Name,
                        kind=i.Type or "",
                        detail=getattr(i, "Sku", "") or "",
                        account_id=str(getattr(i.IncomeAccountRef, "value", "") or "")
                        if getattr(i, "IncomeAccountRef", None)
                        else "",
                    )
                    for i in items
                ),
                tax_codes=tuple(
                    CatalogEntry(id=str(t.Id), name=t.Name, active=bool(getattr(t, "Active", True)))
                    for t in tax_codes
                ),
                vendors=tuple(CatalogEntry(id=str(v.Id), name=v.DisplayName) for v in vendors),
                payment_methods=tuple(CatalogEntry(id=str(m.Id), name=m.Name) for m in methods),
                fetched_at=datetime.now(UTC),
            )

        return self.call(run)

    def books_closed_through(self, refusal: Exception) -> date | None:
        """The company's closing date (``Preferences.AccountingInfoPrefs.BookCloseDate``) when
        ``refusal`` is QuickBooks' closed-books fault."""
        if not isinstance(refusal, ProviderRejected):
            return None
        try:
            code = int(refusal.field_errors.get("code", 0))
        except (TypeError, ValueError):
            return None
        detail = str(refusal.field_errors.get("detail", ""))
        if not qbo_faults.is_period_closed(code, str(refusal), detail):
            return None

        def run(client: QboClient) -> dict[str, Any]:
            url = f"{client.api_url}/company/{client.company_id}/preferences"
            return client.get(url, {}).get("Preferences") or {}

        preferences = self.call(run)
        return qbo_faults.closing_date(preferences)
